"""The demo books' statutory cases (simulator/books.py STATUTORY_CASES) through the whole pipeline: each
statement line they reach equals the figure added up here by hand from the postings the case makes.
The cases' own amounts are fixed constants; where a line also holds the ordinary, generated postings,
those are summed from the simulator's books, and the arithmetic is written out beside the assertion."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import duckdb
import pytest

from simulator.catalogue import as_of, books_for, demo_tenants

pytestmark = pytest.mark.e2e

D = Decimal
ZERO = D("0.00")
PROFILES = {t.profile.key: t.profile for t in demo_tenants()}


@pytest.fixture(scope="module")
def con(pipeline):
    connection = duckdb.connect(str(pipeline["settings"].published_db), read_only=True)
    yield connection
    connection.close()


def books(company: str):
    return books_for(PROFILES[company], as_of())


def net(company: str, accounts: tuple[str, ...], start: date, end: date, opening: bool = True) -> Decimal:
    """Debit minus credit of the books' valid lines on `accounts` dated start..end."""
    return sum(
        (
            line.amount
            for v in books(company).valid_vouchers
            if start <= v.date <= end and (opening or not v.is_opening)
            for line in v.lines
            if line.account in accounts
        ),
        D(0),
    )


def pl_result(company: str, start: date, end: date) -> Decimal:
    """Credit minus debit of the P&L accounts (3000-9990; the result-closing 9991- left out) start..end."""
    return -sum(
        (
            line.amount
            for v in books(company).valid_vouchers
            if start <= v.date <= end
            for line in v.lines
            if "3000" <= line.account < "9991"
        ),
        D(0),
    )


def bs(con, company: str, month_end: date, code: str) -> Decimal:
    rows = con.execute(
        "select amount from marts.rpt_balance_sheet where company_id = ? and month_end = ? and report_line_code = ?",
        [company, month_end, code],
    ).fetchall()
    assert len(rows) == 1, (company, month_end, code, rows)
    return rows[0][0]


def pl(con, company: str, month_end: date, code: str, column: str = "amount_ytd") -> Decimal:
    rows = con.execute(
        f"select {column} from marts.rpt_profit_and_loss "
        "where company_id = ? and month_end = ? and report_line_code = ?",
        [company, month_end, code],
    ).fetchall()
    assert len(rows) == 1, (company, month_end, code, rows)
    return rows[0][0]


def test_the_profiles_name_every_case_but_the_closing_entry():
    from simulator.books import STATUTORY_CASES

    named = {case for p in PROFILES.values() for _, case in p.statutory_cases}
    # a result-closing entry (9999) is tested in tests/simulator/test_books.py only: in the demo, the
    # warning it draws (warn_result_closing_account_balance) would fail the all-checks-pass test
    assert named == set(STATUTORY_CASES) - {"closing_entry"}


# --- Aurora (Fennoa, KPA): year-end stock; December 2025's VAT and payroll paid in January 2026 -----------


def test_aurora_stock_change_and_inventory(con):
    # 31.12.2025: 1500 Dr / 4400 Cr 14 250.00
    assert pl(con, "aurora", date(2025, 12, 31), "PL_MATERIALS_STOCK_CHANGE", "amount_month") == D("14250.00")
    assert pl(con, "aurora", date(2025, 12, 31), "PL_MATERIALS_STOCK_CHANGE") == D("14250.00")
    assert pl(con, "aurora", date(2025, 11, 30), "PL_MATERIALS_STOCK_CHANGE") == ZERO
    # Aineet, tarvikkeet ja tavarat = purchases (4000, debit: negative on the statement) + the stock change
    purchases = -net("aurora", ("4000",), date(2025, 1, 1), date(2025, 12, 31))
    assert pl(con, "aurora", date(2025, 12, 31), "PL_MATERIALS_PURCHASES") == purchases
    assert pl(con, "aurora", date(2025, 12, 31), "PL_MATERIALS_GOODS") == purchases + D("14250.00")
    # the stock is an asset at the year end and is carried into 2026 by the opening voucher
    assert bs(con, "aurora", date(2024, 12, 31), "BS_INV_MATERIALS") == ZERO
    assert bs(con, "aurora", date(2025, 12, 31), "BS_INV_MATERIALS") == D("14250.00")
    assert bs(con, "aurora", date(2025, 12, 31), "BS_INVENTORIES") == D("14250.00")
    assert bs(con, "aurora", date(2026, 1, 31), "BS_INV_MATERIALS") == D("14250.00")


def test_aurora_vat_and_payroll_liabilities_over_the_year_end(con):
    year = (date(2025, 1, 1), date(2025, 12, 31))
    # liabilities (credit positive): withholding 2930 + contributions 2931 + VAT payable 2939, all of
    # 2025 less what was settled up to 12.12.2025: December's
    liabilities = -net("aurora", ("2930", "2931", "2939"), *year)
    receivable = net("aurora", ("1763",), *year)  # purchase VAT of December
    assert liabilities > 0 and receivable > 0
    assert bs(con, "aurora", date(2025, 12, 31), "BS_ST_OTHER") == liabilities
    assert bs(con, "aurora", date(2025, 12, 31), "BS_ST_REC_OTHER") == receivable
    # the year before, everything was settled by the year end
    assert bs(con, "aurora", date(2024, 12, 31), "BS_ST_OTHER") == ZERO
    assert bs(con, "aurora", date(2024, 12, 31), "BS_ST_REC_OTHER") == ZERO
    # carried into 2026 and paid on 12.1.2026 with January's: nothing left at the end of January
    assert bs(con, "aurora", date(2026, 1, 31), "BS_ST_OTHER") == ZERO
    assert bs(con, "aurora", date(2026, 1, 31), "BS_ST_REC_OTHER") == ZERO
    opening = {
        line.account: line.amount for line in books("aurora").opening_voucher(books("aurora").fiscal_years[2]).lines
    }
    assert -(opening["2930"] + opening["2931"] + opening["2939"]) == liabilities
    assert opening["1763"] == receivable


# --- Cirrus (Fennoa, KPA): the 18-month year opens with the year before's result on 2371 (16 000.00),
# moved to 2251 on 28.10.2024, and ends with a depreciation difference and a provision ---------------------


def test_cirrus_appropriations_and_provision(con):
    end = date(2025, 12, 31)
    # 9820 Dr 5 000.00: the change in depreciation difference, a debit (negative on the statement)
    assert pl(con, "cirrus", end, "PL_CHANGE_IN_DEPRECIATION_DIFFERENCE") == D("-5000.00")
    assert pl(con, "cirrus", end, "PL_CHANGE_IN_UNTAXED_RESERVES") == ZERO
    assert pl(con, "cirrus", end, "PL_APPROPRIATIONS") == D("-5000.00")
    # the result after appropriations: no income tax, so the net result is 5 000.00 below
    before = pl(con, "cirrus", end, "PL_RESULT_BEFORE_APPROPRIATIONS")
    assert pl(con, "cirrus", end, "PL_NET_RESULT") == before - D("5000.00")
    # 8990 Dr 2 400.00 lands on Liiketoiminnan muut kulut beside rents (7200), marketing (8050), office (8380)
    other = -net("cirrus", ("7200", "8050", "8380"), date(2024, 7, 1), end)
    assert pl(con, "cirrus", end, "PL_OTHER_OPERATING_EXPENSES") == other - D("2400.00")
    # the balance sheet: 2441 Cr 5 000.00 (Poistoero), 2550 Cr 2 400.00 (Muut pakolliset varaukset), carried
    for month_end in (end, date(2026, 1, 31), date(2026, 6, 30)):
        assert bs(con, "cirrus", month_end, "BS_DEPRECIATION_DIFFERENCE") == D("5000.00")
        assert bs(con, "cirrus", month_end, "BS_APPROPRIATIONS_ACCUMULATED") == D("5000.00")
        assert bs(con, "cirrus", month_end, "BS_OTHER_PROVISIONS") == D("2400.00")
        assert bs(con, "cirrus", month_end, "BS_PROVISIONS") == D("2400.00")
    assert bs(con, "cirrus", date(2025, 11, 30), "BS_APPROPRIATIONS_ACCUMULATED") == ZERO
    # accumulated appropriations are not equity: equity + appropriations + provisions + liabilities = assets
    total = sum(
        bs(con, "cirrus", end, code)
        for code in ("BS_EQUITY_TOTAL", "BS_APPROPRIATIONS_ACCUMULATED", "BS_PROVISIONS", "BS_LIABILITIES_TOTAL")
    )
    assert total == bs(con, "cirrus", end, "BS_ASSETS_TOTAL")


def test_cirrus_result_carried_forward_on_2371(con):
    opening = books("cirrus").opening_voucher(books("cirrus").fiscal_years[0])
    carried = {line.account: line.amount for line in opening.lines}
    assert (carried["2250"], carried["2371"]) == (D("-20000.00"), D("-16000.00"))
    # 2250 Cr 20 000.00 + 2371 Cr 16 000.00 are both on Edellisten tilikausien voitto, the 2371 balance is
    # not added to the current-year result; after 28.10.2024 (2371 Dr / 2251 Cr 16 000.00) the 16 000.00
    # is on 2251, the same line
    for month_end in (date(2024, 7, 31), date(2024, 10, 31), date(2024, 11, 30), date(2025, 12, 31)):
        assert bs(con, "cirrus", month_end, "BS_PRIOR_YEARS_RESULT") == D("20000.00") + D("16000.00")
        assert bs(con, "cirrus", month_end, "BS_CURRENT_YEAR_RESULT") == pl_result(
            "cirrus", date(2024, 7, 1), month_end
        )
    assert net("cirrus", ("2371",), date(2024, 7, 1), date(2025, 12, 31)) == ZERO
    assert net("cirrus", ("2251",), date(2024, 7, 1), date(2025, 12, 31)) == D("-16000.00")
    # 2026 opens on 2250 (20 000.00 + the 18-month year's result) and 2251 (16 000.00)
    result_2025 = pl_result("cirrus", date(2024, 7, 1), date(2025, 12, 31))
    assert pl(con, "cirrus", date(2025, 12, 31), "PL_NET_RESULT") == result_2025
    assert bs(con, "cirrus", date(2026, 1, 31), "BS_PRIOR_YEARS_RESULT") == D("36000.00") + result_2025
    row = con.execute(
        "select amount_opening, result_for_the_year, previous_result_transferred, booked_increases, "
        "booked_decreases, other_changes, amount_closing from marts.rpt_equity_changes "
        "where company_id = 'cirrus' and fiscal_year = 2026 and report_line_code = 'BS_PRIOR_YEARS_RESULT'"
    ).fetchone()
    # opening 31.12.2025: 2250 + 2251 36 000.00 (2025's result was then the current-year line); + result_2025
    # transferred; nothing booked on the line in 2026
    assert row == (D("36000.00"), ZERO, result_2025, ZERO, ZERO, ZERO, D("36000.00") + result_2025)
    row = con.execute(
        "select amount_opening, previous_result_transferred, booked_increases, booked_decreases, amount_closing "
        "from marts.rpt_equity_changes "
        "where company_id = 'cirrus' and fiscal_year = 2025 and report_line_code = 'BS_PRIOR_YEARS_RESULT'"
    ).fetchone()
    # the first year: no prior year end; the 2371/2251 voucher nets to zero on the line
    assert row[1:4] == (ZERO, ZERO, ZERO) and row[4] == D("36000.00")


# --- Dahlia (Netvisor, KPA): insurance prepaid over the 2024 year end; income tax for 2024 and 2025 ------


def test_dahlia_prepaid_insurance(con):
    # 1.10.2024 7680 Dr 4 800.00; 31.12.2024 1800 Dr / 7680 Cr 3 600.00 (nine months of 2025); 1.1.2025 back
    assert bs(con, "dahlia", date(2024, 12, 31), "BS_ST_REC_ACCRUED") == D("3600.00")
    assert bs(con, "dahlia", date(2024, 11, 30), "BS_ST_REC_ACCRUED") == ZERO
    assert bs(con, "dahlia", date(2025, 1, 31), "BS_ST_REC_ACCRUED") == ZERO
    other_2024 = -net("dahlia", ("7200", "8050", "8380"), date(2024, 1, 1), date(2024, 12, 31))
    assert pl(con, "dahlia", date(2024, 12, 31), "PL_OTHER_OPERATING_EXPENSES") == other_2024 - (
        D("4800.00") - D("3600.00")
    )
    other_2025 = -net("dahlia", ("7200", "8050", "8380"), date(2025, 1, 1), date(2025, 12, 31))
    assert pl(con, "dahlia", date(2025, 12, 31), "PL_OTHER_OPERATING_EXPENSES") == other_2025 - D("3600.00")


def test_dahlia_income_tax(con):
    # 31.12.2024 and 31.12.2025: 9900 Dr / 2940 Cr 19 200.00, each paid on 1.3. of the next year
    for year in (2024, 2025):
        end = date(year, 12, 31)
        assert pl(con, "dahlia", end, "PL_INCOME_TAXES") == D("-19200.00")
        assert pl(con, "dahlia", end, "PL_OTHER_DIRECT_TAXES") == ZERO
        result = pl_result("dahlia", date(year, 1, 1), end)  # after the tax
        assert result > 0
        assert pl(con, "dahlia", end, "PL_NET_RESULT") == result
        assert pl(con, "dahlia", end, "PL_RESULT_BEFORE_APPROPRIATIONS") == result + D("19200.00")
        assert bs(con, "dahlia", end, "BS_CURRENT_YEAR_RESULT") == result
        # Muut velat: 2940 19 200.00 (the year's VAT and payroll are settled by then)
        assert bs(con, "dahlia", end, "BS_ST_OTHER") == D("19200.00")
        assert bs(con, "dahlia", date(year + 1, 2, 28), "BS_ST_OTHER") == D("19200.00")
        assert bs(con, "dahlia", date(year + 1, 3, 31), "BS_ST_OTHER") == ZERO
    result_2024 = pl_result("dahlia", date(2024, 1, 1), date(2024, 12, 31))
    row = con.execute(
        "select restricted_equity, free_reserves, prior_years_result, current_year_result, free_equity, "
        "distributable_free_equity, other_equity, equity_total from marts.rpt_distributable_equity "
        "where company_id = 'dahlia' and month_end = '2024-12-31'"
    ).fetchone()
    # restricted: share capital 2000 20 000.00; free: 2250 36 000.00 + the year's result after tax
    free = D("36000.00") + result_2024
    assert row == (D("20000.00"), ZERO, D("36000.00"), result_2024, free, free, ZERO, D("20000.00") + free)
    row = con.execute(
        "select amount_opening, previous_result_transferred, booked_increases, booked_decreases, other_changes, "
        "amount_closing from marts.rpt_equity_changes "
        "where company_id = 'dahlia' and fiscal_year = 2025 and report_line_code = 'BS_PRIOR_YEARS_RESULT'"
    ).fetchone()
    assert row == (D("36000.00"), result_2024, ZERO, ZERO, ZERO, D("36000.00") + result_2024)


def test_no_warning_of_an_untaxed_profit(pipeline):
    evaluations = {e.check_name: e for e in pipeline["results"][-1].get_asset_check_evaluations()}
    # only Dahlia's chart has an income-tax account (9900), and both its ended years book the tax
    assert evaluations["warn_profit_without_income_tax"].passed
    assert evaluations["warn_result_closing_account_balance"].passed  # no closing entry in the demo


# --- Eira (Procountor, KPA): a long-term loan receivable and group-company interest in 2026-27 --------------


def test_eira_loan_receivable_and_group_interest(con):
    # 14.6.2026 1650 Dr / 1910 Cr 10 000.00 (Lainasaatavat, pitkäaikaiset)
    assert bs(con, "eira", date(2026, 5, 31), "BS_LT_REC_LOANS") == ZERO
    assert bs(con, "eira", date(2026, 6, 30), "BS_LT_REC_LOANS") == D("10000.00")
    assert bs(con, "eira", date(2026, 6, 30), "BS_RECEIVABLES_LONG_TERM") == D("10000.00")
    # 29.9.2026 1730 Dr / 9150 Cr 750.00: from a group company, on the group lines
    assert bs(con, "eira", date(2026, 9, 30), "BS_ST_REC_GROUP") == D("750.00")
    assert pl(con, "eira", date(2026, 9, 30), "PL_FIN_OTHER_INTEREST_INCOME_GROUP", "amount_month") == D("750.00")
    assert pl(con, "eira", date(2026, 10, 31), "PL_FIN_OTHER_INTEREST_INCOME_GROUP") == D("750.00")
    assert pl(con, "eira", date(2026, 10, 31), "PL_FIN_OTHER_INTEREST_INCOME_OTHER") == ZERO
    # Rahoitustuotot ja -kulut: the group interest less the loan interest (9440) since 1.5.2026
    interest = -net("eira", ("9440",), date(2026, 5, 1), date(2026, 10, 31))
    assert pl(con, "eira", date(2026, 10, 31), "PL_FINANCIAL") == D("750.00") + interest
    # neither touches the equity at the end of 2025-26: share capital 2000 + 2250 of the 1.5.2025 opening
    # + the year's result, all generated postings
    equity = -net("eira", ("2000", "2250"), date(2025, 5, 1), date(2026, 4, 30))
    equity += pl_result("eira", date(2025, 5, 1), date(2026, 4, 30))
    assert bs(con, "eira", date(2026, 4, 30), "BS_EQUITY_TOTAL") == equity


# --- Borealis (Fennoa, PMA): 2026-27 has no opening voucher --------------------------------------------------


def test_borealis_year_without_an_opening_voucher(con):
    openings = con.execute(
        "select fiscal_year, count(*) from marts.fct_gl_entries where company_id = 'borealis' and is_opening_balance "
        "group by all order by 1"
    ).fetchall()
    assert [fy for fy, _ in openings] == [2024, 2025, 2026]
    # the balance sheet runs on from the 1.7.2025 opening: cash 1910 + 1911 since then
    month_end = date(2026, 7, 31)
    cash = net("borealis", ("1910", "1911"), date(2025, 7, 1), month_end)
    assert bs(con, "borealis", month_end, "BS_CASH") == cash
    # Edellisten tilikausien voitto: 2250 of the 1.7.2025 opening + 2025-26's result, never carried by a voucher
    opened = -net("borealis", ("2250",), date(2025, 7, 1), date(2025, 7, 1))
    result_2026 = pl_result("borealis", date(2025, 7, 1), date(2026, 6, 30))
    assert bs(con, "borealis", month_end, "BS_PRIOR_YEARS_RESULT") == opened + result_2026
    assert bs(con, "borealis", month_end, "BS_CURRENT_YEAR_RESULT") == pl_result(
        "borealis", date(2026, 7, 1), month_end
    )
    assert bs(con, "borealis", month_end, "BS_ASSETS_TOTAL") == bs(
        con, "borealis", month_end, "BS_EQUITY_AND_LIABILITIES_TOTAL"
    )
