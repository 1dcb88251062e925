"""Seeded generator of realistic Finnish double-entry books, shared by every API simulator.

The books are ERP-neutral: each simulator app renders them in its own API's shape. Every valid
voucher balances; each fiscal year opens with a voucher that carries the previous year's balance
sheet forward, with the previous year's result moved into retained earnings (2250). A profile with
`rich_cases` also has lines split across dimension items, partly or not deductible purchase VAT and
zero-rated EU sales (every line still explicit here; an ERP that derives VAT leaves out `implied_vat`
lines).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property

CENT = Decimal("0.01")
VAT_RATE_CHANGE = date(2024, 9, 1)


def vat_rate(on: date) -> Decimal:
    """Finnish general VAT rate: 24 % before 2024-09-01, 25.5 % from then on."""
    return Decimal("25.5") if on >= VAT_RATE_CHANGE else Decimal("24")


@dataclass(frozen=True)
class Account:
    number: str
    name: str
    name_en: str
    vat_code: str = ""


# A compact Finnish chart (ranges as in docs/finance-marts.md section 3).
CHART: tuple[Account, ...] = (
    Account("1100", "Koneet ja kalusto", "Machinery and equipment"),
    Account("1700", "Myyntisaamiset", "Trade receivables"),
    Account("1763", "Arvonlisäverosaamiset", "VAT receivable"),
    Account("1910", "Pankkitili, käyttötili", "Bank, operating account"),
    Account("1911", "Pankkitili, säästötili", "Bank, savings account"),
    Account("2000", "Osakepääoma", "Share capital"),
    Account("2250", "Edellisten tilikausien voitto", "Retained earnings"),
    Account("2620", "Lainat rahoituslaitoksilta", "Loans from credit institutions"),
    Account("2871", "Ostovelat", "Trade payables"),
    Account("2930", "Ennakonpidätysvelka", "Withholding tax payable"),
    Account("2931", "Sosiaaliturva- ja eläkemaksuvelat", "Social and pension contributions payable"),
    Account("2939", "Arvonlisäverovelka", "VAT payable"),
    Account("3000", "Myynti, tuotteet", "Sales, goods", "ALV_MYYNTI"),
    Account("3010", "Myynti, palvelut", "Sales, services", "ALV_MYYNTI"),
    Account("4000", "Ostot", "Purchases", "ALV_OSTO"),
    Account("4450", "Ulkopuoliset palvelut", "External services", "ALV_OSTO"),
    Account("5000", "Palkat", "Wages and salaries"),
    Account("6130", "TyEL-maksut", "Pension contributions"),
    Account("6410", "Sosiaaliturvamaksut", "Social security contributions"),
    Account("6800", "Suunnitelman mukaiset poistot", "Planned depreciation"),
    Account("7200", "Vuokrat", "Rents", "ALV_OSTO"),
    Account("8050", "Markkinointikulut", "Marketing", "ALV_OSTO"),
    Account("8380", "Toimistokulut", "Office expenses", "ALV_OSTO"),
    Account("9160", "Korkotuotot", "Interest income"),
    Account("9440", "Korkokulut", "Interest expenses"),
)

DIMENSION_TYPES: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    # type id -> (name, ((item code, item name), ...))
    "1": ("Kustannuspaikka", (("100", "Myynti"), ("200", "Hallinto"), ("300", "Tuotanto"))),
    "2": ("Projekti", (("P-001", "Asiakasprojekti A"), ("P-002", "Asiakasprojekti B"), ("P-003", "Sisäinen kehitys"))),
}


@dataclass(frozen=True)
class Line:
    account: str
    amount: Decimal  # debit positive, credit negative
    description: str
    vat_code: str = ""
    vat_percent: Decimal = Decimal("0")
    dimensions: tuple[tuple[str, str], ...] = ()  # (dimension type id, item code): the whole line
    # (dimension type id, item code, amount): this type's items share the line, amounts summing to it
    splits: tuple[tuple[str, str, Decimal], ...] = ()
    vat_deduction: Decimal = Decimal("100")  # percent of a net line's VAT that is deductible
    implied_vat: bool = False  # a VAT posting that follows from a net line's rate and deduction

    def dimension_amounts(self) -> list[tuple[str, str, Decimal]]:
        """(type, item, amount) of every dimension item the line is booked to."""
        split_types = {t for t, _, _ in self.splits}
        whole = [(t, code, self.amount) for t, code in self.dimensions if t not in split_types]
        return whole + list(self.splits)


@dataclass
class Voucher:
    id: int
    number: int
    date: date
    series: str  # GL general, IN sales invoice, PU purchase invoice, PJ bank, OB opening
    description: str
    lines: list[Line]
    status: str = "valid"  # valid | invalidated | deleted
    # Lines an edit replaced: Netvisor keeps them on the voucher as invalidated lines, Procountor
    # keeps the old version as an invalidated receipt and gives the new one a new id.
    superseded_lines: list[Line] = field(default_factory=list)

    @property
    def is_opening(self) -> bool:
        return self.series == "OB"

    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0"))


@dataclass(frozen=True)
class FiscalYear:
    id: int
    start: date
    end: date
    locked: bool

    @property
    def key(self) -> str:
        """Partition key: the calendar year in which the fiscal year ends."""
        return str(self.end.year)


@dataclass(frozen=True)
class CompanyProfile:
    """What the generator needs to know about one company."""

    key: str
    name: str
    business_id: str
    fiscal_years: tuple[tuple[date, date], ...]
    lines_per_year: int = 2400
    seed: int = 1
    locked_through: date | None = None  # fiscal years ending on or before are locked
    rich_cases: bool = False  # dimension splits, partly deductible VAT, zero-rated EU sales


@dataclass
class Books:
    profile: CompanyProfile
    as_of: date
    fiscal_years: list[FiscalYear]
    vouchers: list[Voucher] = field(default_factory=list)

    accounts = CHART
    dimension_types = DIMENSION_TYPES

    @cached_property
    def valid_vouchers(self) -> list[Voucher]:
        return [v for v in self.vouchers if v.status == "valid"]

    def fiscal_year_of(self, on: date) -> FiscalYear:
        for fy in self.fiscal_years:
            if fy.start <= on <= fy.end:
                return fy
        raise ValueError(f"{on} is outside every fiscal year of {self.profile.key}")

    def opening_voucher(self, fy: FiscalYear) -> Voucher | None:
        for v in self.valid_vouchers:
            if v.is_opening and v.date == fy.start:
                return v
        return None

    def balance(self, account: str, on: date) -> tuple[Decimal, Decimal]:
        """(debit, credit) of an account from its fiscal year's opening through `on`."""
        fy = self.fiscal_year_of(on)
        debit = credit = Decimal("0")
        for v in self.valid_vouchers:
            if fy.start <= v.date <= on:
                for line in v.lines:
                    if line.account == account:
                        if line.amount >= 0:
                            debit += line.amount
                        else:
                            credit -= line.amount
        return debit, credit


def _q(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


class _Generator:
    def __init__(self, profile: CompanyProfile, as_of: date):
        self.p = profile
        self.as_of = as_of
        self.rng = random.Random(f"{profile.key}:{profile.seed}")
        self.vouchers: list[Voucher] = []
        self.next_id = 1000 + 1000 * (profile.seed % 7)
        self.numbers: dict[tuple[int, str], int] = {}
        self.totals: dict[int, dict[str, Decimal]] = {}

    def add(
        self, fy: FiscalYear, day: date, series: str, description: str, lines: list[Line], status: str = "valid"
    ) -> Voucher | None:
        if day > self.as_of:
            return None
        number = self.numbers.get((fy.id, series), 0) + 1
        self.numbers[(fy.id, series)] = number
        voucher = Voucher(self.next_id, number, day, series, description, lines, status)
        assert voucher.total() == 0, f"unbalanced voucher {voucher}"
        self.next_id += 1
        self.vouchers.append(voucher)
        if status == "valid":
            totals = self.totals.setdefault(fy.id, {})
            for line in lines:
                totals[line.account] = totals.get(line.account, Decimal("0")) + line.amount
        return voucher

    def dims(self) -> tuple[tuple[str, str], ...]:
        cost_centre = self.rng.choice(DIMENSION_TYPES["1"][1])[0]
        if self.rng.random() < 0.6:
            project = self.rng.choice(DIMENSION_TYPES["2"][1])[0]
            return (("1", cost_centre), ("2", project))
        return (("1", cost_centre),)

    def money(self, low: int, high: int) -> Decimal:
        return _q(Decimal(self.rng.randint(low * 100, high * 100)) / 100)

    def closing_balances(self, fy: FiscalYear) -> dict[str, Decimal]:
        return dict(self.totals.get(fy.id, {}))

    def opening(self, fy: FiscalYear, previous: FiscalYear | None) -> None:
        if previous is None:
            lines = [
                Line("1910", Decimal("60000.00"), "Osakepääoman maksu"),
                Line("2000", Decimal("-20000.00"), "Osakepääoma"),
                Line("1911", Decimal("40000.00"), "Pankkilaina"),
                Line("2620", Decimal("-80000.00"), "Pankkilaina"),
                Line("1100", Decimal("36000.00"), "Kalusto"),
                Line("2250", Decimal("-36000.00"), "Edellisten tilikausien voitto"),
            ]
        else:
            closing = self.closing_balances(previous)
            result = sum((amt for acc, amt in closing.items() if acc >= "3"), Decimal("0"))
            carried = {acc: amt for acc, amt in closing.items() if acc < "3" and amt != 0}
            carried["2250"] = carried.get("2250", Decimal("0")) + result
            lines = [Line(acc, amt, "Avaava tase") for acc, amt in sorted(carried.items()) if amt != 0]
        self.add(fy, fy.start, "OB", f"Tilinavaus {fy.start:%d.%m.%Y}", lines)

    def month_starts(self, fy: FiscalYear):
        day = fy.start
        while day <= fy.end:
            yield day
            day = date(day.year + (day.month == 12), day.month % 12 + 1, 1)

    def year(self, fy: FiscalYear) -> None:
        months = list(self.month_starts(fy))
        fixed_lines_per_month = 19
        invoices = max(2, (self.p.lines_per_year * len(months) // 12 - fixed_lines_per_month * len(months)) // 5)
        per_month = max(1, invoices // len(months))
        for month in months:
            last_day = date(month.year + (month.month == 12), month.month % 12 + 1, 1) - timedelta(days=1)
            days = (last_day - month).days
            for _ in range(per_month):
                self.invoice(fy, month + timedelta(days=self.rng.randint(0, days)))
            self.monthly(fy, month, last_day)

    def invoice(self, fy: FiscalYear, day: date) -> None:
        rate = vat_rate(day)
        if self.rng.random() < 0.55:
            net = self.money(200, 9000)
            vat = _q(net * rate / 100)
            account = self.rng.choice(("3000", "3010"))
            sale = Line(account, -net, "Myynti", "ALV_MYYNTI", rate, self.dims())
            lines = [Line("1700", net + vat, "Myyntisaamiset"), sale, Line("2939", -vat, "ALV-velka", implied_vat=True)]
            if self.p.rich_cases:
                roll = self.rng.random()
                if roll < 0.08:  # goods to another EU member state: zero-rated, no VAT line
                    vat = Decimal(0)
                    sale = Line(account, -net, "Yhteisömyynti", "EU_MYYNTI", Decimal(0), sale.dimensions)
                    lines = [Line("1700", net, "Myyntisaamiset"), sale]
                elif roll < 0.30:  # the sale shared by two cost centres
                    first, second = self.rng.sample([code for code, _ in DIMENSION_TYPES["1"][1]], 2)
                    share = _q(net * Decimal(self.rng.choice((40, 55, 60, 75))) / 100)
                    lines[1] = replace(sale, splits=(("1", first, -share), ("1", second, share - net)))
            v = self.add(fy, day, "IN", f"Myyntilasku {self.next_id}", lines)
            pay_day = day + timedelta(days=self.rng.randint(7, 30))
            if v is not None and pay_day <= fy.end:
                self.add(
                    fy,
                    pay_day,
                    "PJ",
                    f"Suoritus {v.description}",
                    [Line("1910", net + vat, "Pankki"), Line("1700", -(net + vat), "Myyntisaamiset")],
                )
        else:
            net = self.money(300, 7500)
            vat = _q(net * rate / 100)
            account = self.rng.choice(("4000", "4450", "8050", "8380"))
            roll = self.rng.random()
            status = "deleted" if roll < 0.02 else "invalidated" if roll < 0.04 else "valid"
            lines = [
                Line(account, net, "Osto", "ALV_OSTO", rate, self.dims()),
                Line("1763", vat, "ALV-saaminen", implied_vat=True),
                Line("2871", -(net + vat), "Ostovelat"),
            ]
            if self.p.rich_cases and self.rng.random() < 0.15:
                # Entertainment (0 %) or a car used half privately (50 %): the VAT that is not
                # deductible stays on the expense account.
                deduction = self.rng.choice((Decimal(0), Decimal(50)))
                deductible = _q(vat * deduction / 100)
                dims = lines[0].dimensions
                lines = [
                    Line("8050", net, "Osto, vähennys rajoitettu", "ALV_OSTO", rate, dims, vat_deduction=deduction),
                    Line("8050", vat - deductible, "Vähennyskelvoton ALV", dimensions=dims, implied_vat=True),
                    Line("1763", deductible, "ALV-saaminen", implied_vat=True),
                    Line("2871", -(net + vat), "Ostovelat"),
                ]
                lines = [line for line in lines if line.amount or not line.implied_vat]
            v = self.add(fy, day, "PU", f"Ostolasku {self.next_id}", lines, status)
            if v is not None and status == "valid" and self.rng.random() < 0.03:
                old_net = net + self.money(10, 200)
                old_vat = _q(old_net * rate / 100)
                v.superseded_lines = [
                    Line(account, old_net, "Osto (ennen korjausta)", "ALV_OSTO", rate),
                    Line("1763", old_vat, "ALV-saaminen", implied_vat=True),
                    Line("2871", -(old_net + old_vat), "Ostovelat"),
                ]
            pay_day = day + timedelta(days=self.rng.randint(7, 30))
            if v is not None and status == "valid" and pay_day <= fy.end:
                self.add(
                    fy,
                    pay_day,
                    "PJ",
                    f"Maksu {v.description}",
                    [Line("2871", net + vat, "Ostovelat"), Line("1910", -(net + vat), "Pankki")],
                )

    @property
    def scale(self) -> Decimal:
        """Fixed costs follow the company's size, so small and large books are both plausible."""
        return Decimal(min(max(self.p.lines_per_year / 2400, 0.25), 8)).quantize(Decimal("0.01"))

    def monthly(self, fy: FiscalYear, month: date, last_day: date) -> None:
        gross = _q(self.money(9000, 14000) * self.scale)
        withholding = _q(gross * Decimal("0.22"))
        pension = _q(gross * Decimal("0.1734"))
        social = _q(gross * Decimal("0.0187"))
        self.add(
            fy,
            last_day,
            "GL",
            f"Palkat {month:%m/%Y}",
            [
                Line("5000", gross, "Palkat", dimensions=(("1", "200"),)),
                Line("6130", pension, "TyEL", dimensions=(("1", "200"),)),
                Line("6410", social, "Sotu", dimensions=(("1", "200"),)),
                Line("2930", -withholding, "Ennakonpidätys"),
                Line("2931", -(pension + social), "Eläke- ja sotumaksut"),
                Line("1910", -(gross - withholding), "Nettopalkat"),
            ],
        )
        rent = _q(self.money(1800, 2200) * self.scale)
        rent_vat = _q(rent * vat_rate(month) / 100)
        self.add(
            fy,
            month + timedelta(days=1),
            "PJ",
            f"Vuokra {month:%m/%Y}",
            [
                Line("7200", rent, "Toimitilavuokra", "ALV_OSTO", vat_rate(month), (("1", "200"),)),
                Line("1763", rent_vat, "ALV-saaminen", implied_vat=True),
                Line("1910", -(rent + rent_vat), "Pankki"),
            ],
        )
        self.add(
            fy,
            last_day,
            "GL",
            f"Poistot {month:%m/%Y}",
            [
                Line("6800", Decimal("500.00"), "Suunnitelman mukaiset poistot"),
                Line("1100", Decimal("-500.00"), "Kalusto"),
            ],
        )
        if month.month % 3 == 0:
            interest = self.money(150, 300)
            self.add(
                fy,
                last_day,
                "PJ",
                f"Lainan korko {month:%m/%Y}",
                [Line("9440", interest, "Korkokulut"), Line("1910", -interest, "Pankki")],
            )
        self.settle_taxes(fy, month)

    def settle_taxes(self, fy: FiscalYear, month: date) -> None:
        """Pay last month's VAT, withholding and contributions on the 12th of this month."""
        if month == fy.start:
            return
        pay_day = month + timedelta(days=11)
        balances = self.closing_balances(fy)
        lines = []
        for account in ("2939", "1763", "2930", "2931"):
            amount = balances.get(account, Decimal("0"))
            if amount:
                lines.append(Line(account, -amount, "Tilitys"))
        if lines:
            lines.append(Line("1910", -sum((line.amount for line in lines), Decimal("0")), "Pankki"))
            self.add(fy, pay_day, "PJ", f"Verojen tilitys {month:%m/%Y}", lines)


def generate_books(profile: CompanyProfile, as_of: date) -> Books:
    """Generate a company's books up to and including `as_of`."""
    fiscal_years = [
        FiscalYear(
            id=100 * (profile.seed % 9 + 1) + i,
            start=start,
            end=end,
            locked=profile.locked_through is not None and end <= profile.locked_through,
        )
        for i, (start, end) in enumerate(profile.fiscal_years, start=1)
        if start <= as_of
    ]
    gen = _Generator(profile, as_of)
    previous = None
    for fy in fiscal_years:
        gen.opening(fy, previous)
        gen.year(fy)
        previous = fy
    books = Books(profile, as_of, fiscal_years)
    books.vouchers = sorted(gen.vouchers, key=lambda v: (v.date, v.id))
    return books
