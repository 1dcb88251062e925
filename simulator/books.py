"""Seeded generator of realistic Finnish double-entry books, shared by every API simulator.

The books are ERP-neutral: each simulator app renders them in its own API's shape. Every valid
voucher balances; each fiscal year opens with a voucher that carries the previous year's balance
sheet forward, with the previous year's result moved into retained earnings (2250). A profile with
`rich_cases` also has lines split across dimension items, partly or not deductible purchase VAT and
zero-rated EU sales (every line still explicit here; an ERP that derives VAT leaves out `implied_vat`
lines). A profile's `statutory_cases` add, per fiscal year, the entries a Finnish year end brings (stock,
prepaid expenses, appropriations, provisions, income tax, a result-closing entry, group-company items,
VAT and payroll left unpaid over the year end) and the books a year can lack (no opening voucher); see
`STATUTORY_CASES`. Their vouchers are plain journal entries without VAT, numbered after the year's others.
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
    Account("1160", "Koneet ja kalusto", "Machinery and equipment"),
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

# Accounts only the statutory cases post to: a company's chart lists those its books use.
CASE_ACCOUNTS: tuple[Account, ...] = (
    Account("1500", "Aineet ja tarvikkeet", "Raw materials and consumables"),
    Account("1650", "Lainasaamiset, pitkäaikaiset", "Loan receivables, non-current"),
    Account("1730", "Myyntisaamiset saman konsernin yrityksiltä", "Receivables from group companies"),
    Account("1800", "Siirtosaamiset", "Prepaid expenses and accrued income"),
    Account("2251", "Edellisten tilikausien voitto, siirto", "Retained earnings, transferred"),
    Account("2371", "Tilikauden voitto (tappio)", "Profit (loss) for the financial year, booked"),
    Account("2441", "Poistoero, koneet ja kalusto", "Depreciation difference, machinery and equipment"),
    Account("2550", "Muut pakolliset varaukset", "Other provisions"),
    Account("2940", "Tuloverovelka", "Income tax payable"),
    Account("4400", "Varastojen muutos", "Change in inventories"),
    Account("7680", "Vakuutusmaksut", "Insurance premiums"),
    Account("8990", "Pakollisten varausten muutos", "Change in provisions"),
    Account("9150", "Korkotuotot saman konsernin yrityksiltä", "Interest income from group companies"),
    Account("9820", "Poistoeron muutos", "Change in depreciation difference"),
    Account("9900", "Tuloverot", "Income taxes"),
    Account("9999", "Tilikauden tuloksen siirto", "Result of the financial year, closed"),
)

# What each statutory case books in the fiscal year it is named for (all amounts fixed, so tests can
# add them up by hand). A case named for a year may also book in the next one (reversal, payment).
STATUTORY_CASES: dict[str, str] = {
    "inventory": "year-end stock: 1500 Dr / 4400 Cr 14 250.00 on the last day",
    "prepaid_expense": "insurance 4 800.00 paid 1.10. (7680 Dr / 1910 Cr), 3 600.00 of it prepaid at the year end "
    "(1800 Dr / 7680 Cr), reversed on the next year's first day",
    "appropriations": "depreciation difference 9820 Dr / 2441 Cr 5 000.00 and a provision 8990 Dr / 2550 Cr "
    "2 400.00 on the last day",
    "income_tax": "income tax 9900 Dr / 2940 Cr 19 200.00 on the last day, paid on the next year's 60th day",
    # Not in the demo: its 9999 balance at the year end is what warn_result_closing_account_balance warns of.
    "closing_entry": "the year's result closed by entry on the last day, 9999 against 2371 (after every other case)",
    "result_on_2371": "the opening voucher carries last year's result on 2371 (not 2250; in a first year, 16 000.00 "
    "of the 36 000.00), moved to 2251 on the 120th day",
    "group_items": "a loan 1650 Dr / 1910 Cr 10 000.00 on the 45th day; group interest 1730 Dr / 9150 Cr 750.00 "
    "on the 152nd day",
    "taxes_unpaid": "the last month's VAT, withholding and contributions are not settled before the year end: "
    "they are carried into the next opening and paid on the next year's 12th day",
    "no_opening": "the fiscal year has no opening voucher (the books were not closed); the next opening "
    "carries everything since the last one",
}
INVENTORY = Decimal("14250.00")
INSURANCE, PREPAID = Decimal("4800.00"), Decimal("3600.00")
DEPRECIATION_DIFFERENCE, PROVISION = Decimal("5000.00"), Decimal("2400.00")
INCOME_TAX = Decimal("19200.00")
LOAN, GROUP_INTEREST = Decimal("10000.00"), Decimal("750.00")
TAX_ACCOUNTS = ("2939", "1763", "2930", "2931")

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
    # (fiscal-year key, case): the year-end cases of STATUTORY_CASES this company's books hold
    statutory_cases: tuple[tuple[str, str], ...] = ()

    def has_case(self, fiscal_year_key: str, case: str) -> bool:
        assert case in STATUTORY_CASES, case
        return (fiscal_year_key, case) in self.statutory_cases


@dataclass
class Books:
    profile: CompanyProfile
    as_of: date
    fiscal_years: list[FiscalYear]
    vouchers: list[Voucher] = field(default_factory=list)

    dimension_types = DIMENSION_TYPES

    @cached_property
    def accounts(self) -> tuple[Account, ...]:
        """The chart: the common accounts, then those of the statutory cases the books post to."""
        used = {line.account for v in self.vouchers for line in v.lines}
        return CHART + tuple(a for a in CASE_ACCOUNTS if a.number in used)

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

    def carried_from(self, fy: FiscalYear) -> FiscalYear:
        """The fiscal year whose opening voucher a balance-sheet balance in `fy` runs from: `fy` itself,
        or for a year without an opening voucher (books not closed) the last year that has one."""
        index = self.fiscal_years.index(fy)
        while index > 0 and self.opening_voucher(self.fiscal_years[index]) is None:
            index -= 1
        return self.fiscal_years[index]

    def balance(self, account: str, on: date) -> tuple[Decimal, Decimal]:
        """(debit, credit) of an account from its fiscal year's opening through `on` (a balance-sheet
        account of a year without an opening voucher: from the last opening voucher)."""
        fy = self.fiscal_year_of(on)
        start = self.carried_from(fy).start if account < "3" else fy.start
        debit = credit = Decimal("0")
        for v in self.valid_vouchers:
            if start <= v.date <= on:
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
        # The statutory cases' vouchers take ids of their own, so the other vouchers keep theirs.
        self.next_case_id = 900_000 + 1000 * (profile.seed % 50)
        self.unopened: list[FiscalYear] = []  # fiscal years since the last opening voucher, none of them opened
        self.opened_with_taxes: set[int] = set()  # fiscal years whose opening carries unpaid VAT or payroll

    def add(
        self,
        fy: FiscalYear,
        day: date,
        series: str,
        description: str,
        lines: list[Line],
        status: str = "valid",
        case: bool = False,
    ) -> Voucher | None:
        if day > self.as_of:
            return None
        number = self.numbers.get((fy.id, series), 0) + 1
        self.numbers[(fy.id, series)] = number
        voucher_id = self.next_case_id if case else self.next_id
        voucher = Voucher(voucher_id, number, day, series, description, lines, status)
        assert voucher.total() == 0, f"unbalanced voucher {voucher}"
        if case:
            self.next_case_id += 1
        else:
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
                Line("1160", Decimal("36000.00"), "Kalusto"),
                Line("2250", Decimal("-36000.00"), "Edellisten tilikausien voitto"),
            ]
            if self.p.has_case(fy.key, "result_on_2371"):  # 16 000.00 of it the year before's, not yet moved
                lines[-1:] = [
                    Line("2250", Decimal("-20000.00"), "Edellisten tilikausien voitto"),
                    Line("2371", Decimal("-16000.00"), "Edellisen tilikauden voitto"),
                ]
        elif self.p.has_case(fy.key, "no_opening"):
            self.unopened.append(previous)  # the books were not closed: no opening voucher
            return
        else:
            # everything since the last opening voucher: the previous year's, and any unopened year's before it
            closing: dict[str, Decimal] = {}
            for year in [*self.unopened, previous]:
                for acc, amt in self.closing_balances(year).items():
                    closing[acc] = closing.get(acc, Decimal("0")) + amt
            self.unopened = []
            result = sum((amt for acc, amt in closing.items() if acc >= "3"), Decimal("0"))
            carried = {acc: amt for acc, amt in closing.items() if acc < "3" and amt != 0}
            result_account = "2371" if self.p.has_case(fy.key, "result_on_2371") else "2250"
            carried[result_account] = carried.get(result_account, Decimal("0")) + result
            lines = [Line(acc, amt, "Avaava tase") for acc, amt in sorted(carried.items()) if amt != 0]
            if any(acc in TAX_ACCOUNTS for acc in carried):
                self.opened_with_taxes.add(fy.id)
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
                Line("1160", Decimal("-500.00"), "Kalusto"),
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
        """Pay last month's VAT, withholding and contributions on the 12th of this month (with the
        `taxes_unpaid` case: none in the year's last month, and the carried ones in the next year's first)."""
        carried = month == fy.start and fy.id in self.opened_with_taxes
        if month == fy.start and not carried:
            return
        if (month.year, month.month) == (fy.end.year, fy.end.month) and self.p.has_case(fy.key, "taxes_unpaid"):
            return
        pay_day = month + timedelta(days=11)
        balances = self.closing_balances(fy)
        lines = []
        for account in TAX_ACCOUNTS:
            amount = balances.get(account, Decimal("0"))
            if amount:
                lines.append(Line(account, -amount, "Tilitys"))
        if lines:
            lines.append(Line("1910", -sum((line.amount for line in lines), Decimal("0")), "Pankki"))
            self.add(fy, pay_day, "PJ", f"Verojen tilitys {month:%m/%Y}", lines, case=carried)

    def statutory(self, fy: FiscalYear, previous: FiscalYear | None) -> None:
        """The profile's statutory cases for `fy` (and the next-year halves of `previous`'s), as journal
        vouchers without VAT; the result-closing entry last, after everything else of the year."""

        def journal(day: date, description: str, *lines: tuple[str, Decimal, str]) -> None:
            self.add(fy, day, "GL", description, [Line(a, amt, text) for a, amt, text in lines], case=True)

        def has(case: str) -> bool:
            return self.p.has_case(fy.key, case)

        if previous is not None and self.p.has_case(previous.key, "prepaid_expense"):
            journal(
                fy.start, "Siirtosaamisen palautus", ("7680", PREPAID, "Vakuutus"), ("1800", -PREPAID, "Siirtosaaminen")
            )
        if previous is not None and self.p.has_case(previous.key, "income_tax"):
            journal(
                fy.start + timedelta(days=59),
                "Tuloveron maksu",
                ("2940", INCOME_TAX, "Tuloverovelka"),
                ("1910", -INCOME_TAX, "Pankki"),
            )
        if has("result_on_2371"):
            opening = next(v for v in self.vouchers if v.is_opening and v.date == fy.start)
            result = -sum((line.amount for line in opening.lines if line.account == "2371"), Decimal("0"))
            journal(
                fy.start + timedelta(days=119),
                "Edellisen tilikauden tuloksen siirto",
                ("2371", result, "Tilikauden voitto"),
                ("2251", -result, "Edellisten tilikausien voitto"),
            )
        if has("group_items"):
            journal(
                fy.start + timedelta(days=44), "Lainananto", ("1650", LOAN, "Lainasaaminen"), ("1910", -LOAN, "Pankki")
            )
            journal(
                fy.start + timedelta(days=151),
                "Konsernikorko",
                ("1730", GROUP_INTEREST, "Konsernisaaminen"),
                ("9150", -GROUP_INTEREST, "Korkotuotot konserniyrityksiltä"),
            )
        if has("prepaid_expense"):
            journal(
                date(fy.end.year, 10, 1) if fy.end.month == 12 else fy.end - timedelta(days=91),
                "Vakuutusmaksu",
                ("7680", INSURANCE, "Vakuutus"),
                ("1910", -INSURANCE, "Pankki"),
            )
            journal(fy.end, "Siirtosaaminen", ("1800", PREPAID, "Siirtosaaminen"), ("7680", -PREPAID, "Vakuutus"))
        if has("inventory"):
            journal(
                fy.end, "Varaston muutos", ("1500", INVENTORY, "Varasto"), ("4400", -INVENTORY, "Varastojen muutos")
            )
        if has("appropriations"):
            journal(
                fy.end,
                "Poistoero",
                ("9820", DEPRECIATION_DIFFERENCE, "Poistoeron muutos"),
                ("2441", -DEPRECIATION_DIFFERENCE, "Poistoero"),
            )
            journal(
                fy.end, "Pakollinen varaus", ("8990", PROVISION, "Varauksen lisäys"), ("2550", -PROVISION, "Varaus")
            )
        if has("income_tax"):
            journal(
                fy.end,
                "Tilikauden tuloverot",
                ("9900", INCOME_TAX, "Tuloverot"),
                ("2940", -INCOME_TAX, "Tuloverovelka"),
            )
        if has("closing_entry"):
            result = -sum((amt for acc, amt in self.closing_balances(fy).items() if acc >= "3"), Decimal("0"))
            journal(
                fy.end, "Tuloksen siirto", ("9999", result, "Tuloksen siirto"), ("2371", -result, "Tilikauden voitto")
            )


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
        gen.statutory(fy, previous)
        previous = fy
    books = Books(profile, as_of, fiscal_years)
    books.vouchers = sorted(gen.vouchers, key=lambda v: (v.date, v.id))
    return books
