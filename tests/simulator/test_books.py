from dataclasses import replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from simulator.books import CompanyProfile, generate_books, vat_rate
from simulator.catalogue import DEFAULT_AS_OF, demo_tenants


def _books(key):
    tenant = next(t for t in demo_tenants() if t.profile.key == key)
    return generate_books(tenant.profile, DEFAULT_AS_OF)


def test_every_valid_voucher_balances_and_some_are_invalidated_or_deleted():
    books = _books("aurora")
    assert books.vouchers
    assert all(v.total() == 0 for v in books.vouchers)
    statuses = {v.status for v in books.vouchers}
    assert {"valid", "invalidated", "deleted"} <= statuses


def test_fiscal_years_need_not_start_in_january_and_may_last_18_months():
    borealis = _books("borealis").fiscal_years
    assert [fy.start.month for fy in borealis] == [7, 7, 7, 7]
    cirrus = _books("cirrus").fiscal_years[0]
    months = (cirrus.end.year - cirrus.start.year) * 12 + cirrus.end.month - cirrus.start.month + 1
    assert months == 18 and cirrus.key == "2025"


def test_vat_rate_changed_on_2024_09_01_and_invoices_use_it():
    assert vat_rate(date(2024, 8, 31)) == Decimal("24")
    assert vat_rate(date(2024, 9, 1)) == Decimal("25.5")
    books = _books("aurora")
    for voucher in books.valid_vouchers:
        if voucher.series == "IN":
            net = -voucher.lines[1].amount
            vat = -voucher.lines[2].amount
            assert vat == (net * vat_rate(voucher.date) / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def test_year_end_result_is_carried_into_next_opening_balance():
    books = _books("aurora")
    first, second = books.fiscal_years[:2]
    closing, result = {}, Decimal(0)
    for v in books.valid_vouchers:
        if first.start <= v.date <= first.end:
            for line in v.lines:
                closing[line.account] = closing.get(line.account, Decimal(0)) + line.amount
                if line.account >= "3":
                    result += line.amount
    opening = {line.account: line.amount for line in books.opening_voucher(second).lines}
    assert not any(account >= "3" for account in opening)  # no P&L accounts in an opening voucher
    assert opening["2250"] == closing["2250"] + result
    assert opening["1910"] == closing["1910"]
    assert result != 0


def test_size_parameter_scales_the_ledger():
    profile = CompanyProfile("s", "S", "2345678-0", ((date(2025, 1, 1), date(2025, 12, 31)),), lines_per_year=20_000)
    lines = sum(len(v.lines) for v in generate_books(profile, date(2025, 12, 31)).vouchers)
    assert 17_000 <= lines <= 23_000


def test_books_are_reproducible():
    a, b = _books("cirrus"), _books("cirrus")
    assert [(v.id, v.date, v.lines) for v in a.vouchers] == [(v.id, v.date, v.lines) for v in b.vouchers]


def _profile(key):
    return next(t for t in demo_tenants() if t.profile.key == key).profile


def test_every_demo_company_balances_and_lists_every_account_it_posts_to():
    for tenant in demo_tenants():
        books = generate_books(tenant.profile, DEFAULT_AS_OF)
        assert all(v.total() == 0 for v in books.vouchers), tenant.profile.key
        chart = {a.number for a in books.accounts}
        assert {line.account for v in books.vouchers for line in v.lines} <= chart, tenant.profile.key
        assert len(chart) == len(books.accounts)
    # the statutory cases' accounts are in the chart only of a company that posts to them
    assert "9900" in {a.number for a in _books("dahlia").accounts}
    assert "9900" not in {a.number for a in _books("aurora").accounts}


def test_statutory_cases_leave_the_other_vouchers_as_they_were():
    profile = _profile("dahlia")
    plain = generate_books(replace(profile, statutory_cases=()), DEFAULT_AS_OF)
    cased = generate_books(profile, DEFAULT_AS_OF)
    # the same ids, numbers and dates; the same lines but in the opening vouchers, which carry the cases
    ordinary = [(v.id, v.number, v.date, v.is_opening or v.lines) for v in cased.vouchers if v.id < 900_000]
    assert ordinary == [(v.id, v.number, v.date, v.is_opening or v.lines) for v in plain.vouchers]
    cases = [v for v in cased.vouchers if v.id >= 900_000]
    assert cases and {v.series for v in cases} == {"GL"}
    assert not any(line.vat_code or line.vat_percent for v in cases for line in v.lines)


def test_stock_and_taxes_left_unpaid_are_carried_into_the_next_opening():
    books = _books("aurora")
    opening = {line.account: line.amount for line in books.opening_voucher(books.fiscal_years[2]).lines}
    assert opening["1500"] == Decimal("14250.00")
    assert opening["2939"] < 0 and opening["1763"] > 0 and opening["2930"] < 0 and opening["2931"] < 0
    paid = next(v for v in books.valid_vouchers if v.date == date(2026, 1, 12) and v.description.startswith("Verojen"))
    assert {line.account for line in paid.lines} >= {"2939", "1763", "2930", "2931", "1910"}
    for account in ("2939", "1763", "2930", "2931"):
        assert books.balance(account, date(2026, 1, 31))[0] == books.balance(account, date(2026, 1, 31))[1]
        assert books.balance(account, date(2024, 12, 31))[0] == books.balance(account, date(2024, 12, 31))[1]


def test_a_result_closing_entry_moves_the_result_to_2371_and_the_next_opening_carries_it():
    profile = replace(_profile("dahlia"), key="closing", statutory_cases=(("2024", "closing_entry"),))
    books = generate_books(profile, DEFAULT_AS_OF)
    first, second = books.fiscal_years[:2]
    lines = [line for v in books.valid_vouchers if first.start <= v.date <= first.end for line in v.lines]
    closed = sum((line.amount for line in lines if line.account == "9999"), Decimal(0))
    result = -sum((line.amount for line in lines if "3" <= line.account < "9991"), Decimal(0))
    assert closed == result > 0
    assert sum((line.amount for line in lines if line.account >= "3"), Decimal(0)) == 0  # the P&L nets to zero
    opening = {line.account: line.amount for line in books.opening_voucher(second).lines}
    assert opening["2371"] == -result and opening["2250"] == Decimal("-36000.00")


def test_a_year_without_an_opening_voucher_and_the_opening_after_it():
    profile = replace(_profile("dahlia"), key="unclosed", statutory_cases=(("2025", "no_opening"),))
    books = generate_books(profile, DEFAULT_AS_OF)
    first, second, third = books.fiscal_years
    assert books.opening_voucher(second) is None and books.carried_from(second) == first
    assert books.carried_from(third) == third
    # a balance-sheet balance in the unopened year runs from the last opening; a P&L one from the year's start
    cash = sum(
        (
            line.amount
            for v in books.valid_vouchers
            if v.date <= date(2025, 6, 30)
            for line in v.lines
            if line.account == "1910"
        ),
        Decimal(0),
    )
    debit, credit = books.balance("1910", date(2025, 6, 30))
    assert debit - credit == cash
    sales = sum(
        (line.amount for v in books.valid_vouchers if second.start <= v.date <= date(2025, 6, 30)
         for line in v.lines if line.account == "3000"),
        Decimal(0),
    )  # fmt: skip
    debit, credit = books.balance("3000", date(2025, 6, 30))
    assert debit - credit == sales
    # the 2026 opening carries both years: 2250 = 36 000.00 + the 2024 and 2025 results
    results = -sum(
        (line.amount for v in books.valid_vouchers if v.date <= second.end for line in v.lines if line.account >= "3"),
        Decimal(0),
    )
    opening = {line.account: line.amount for line in books.opening_voucher(third).lines}
    assert opening["2250"] == Decimal("-36000.00") - results
    assert opening["1910"] == cash + sum(
        (line.amount for v in books.valid_vouchers if date(2025, 7, 1) <= v.date <= second.end
         for line in v.lines if line.account == "1910"),
        Decimal(0),
    )  # fmt: skip
