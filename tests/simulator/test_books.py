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
