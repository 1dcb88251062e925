"""The statutory statements over the demo books: sub-items add up to the decree's main items, the
comparatives align on the month of the fiscal year, the balance sheet carries the prior year end beside
it, and the statement of changes in equity and the distributable free equity tie to the balance sheet.
The line-by-line figures are checked by hand in tests/dbt/test_statutory_lines.py."""

from __future__ import annotations

import duckdb
import pytest

pytestmark = pytest.mark.e2e

SUB_ITEMS = {
    "PL_MATERIALS_AND_SERVICES": ("PL_MATERIALS_PURCHASES", "PL_MATERIALS_STOCK_CHANGE", "PL_EXTERNAL_SERVICES"),
    "PL_PERSONNEL": ("PL_WAGES", "PL_PENSION_EXPENSES", "PL_OTHER_SOCIAL_SECURITY"),
    "PL_DEPRECIATION": ("PL_DEPRECIATION_PLANNED", "PL_IMPAIRMENT_NON_CURRENT", "PL_IMPAIRMENT_CURRENT_EXCEPTIONAL"),
    "PL_FINANCIAL": (
        "PL_FIN_GROUP_SHARE_INCOME", "PL_FIN_PARTICIPATING_INCOME", "PL_FIN_OTHER_INVESTMENT_INCOME_GROUP",
        "PL_FIN_OTHER_INVESTMENT_INCOME_OTHER", "PL_FIN_OTHER_INTEREST_INCOME_GROUP",
        "PL_FIN_OTHER_INTEREST_INCOME_OTHER", "PL_FIN_IMPAIRMENT_INVESTMENTS", "PL_FIN_IMPAIRMENT_SECURITIES",
        "PL_FIN_INTEREST_EXPENSES_GROUP", "PL_FIN_INTEREST_EXPENSES_OTHER",
    ),
    "PL_APPROPRIATIONS": (
        "PL_CHANGE_IN_DEPRECIATION_DIFFERENCE", "PL_CHANGE_IN_UNTAXED_RESERVES", "PL_GROUP_CONTRIBUTIONS",
    ),
}  # fmt: skip


@pytest.fixture(scope="module")
def con(pipeline):
    connection = duckdb.connect(str(pipeline["settings"].published_db), read_only=True)
    yield connection
    connection.close()


def test_kpa_sub_items_add_up_to_the_main_items_every_month(con):
    for main, items in SUB_ITEMS.items():
        listed = ", ".join(f"'{i}'" for i in items)
        mismatched = con.execute(f"""
            select m.company_id, m.month_end, m.amount_ytd, sum(s.amount_ytd)
            from marts.rpt_profit_and_loss as m
            join marts.rpt_profit_and_loss as s
                on s.company_id = m.company_id and s.month_end = m.month_end and s.report_line_code in ({listed})
            where m.schema_variant = 'KPA' and m.report_line_code = '{main}'
            group by all having m.amount_ytd <> sum(s.amount_ytd)""").fetchall()  # fmt: skip
        assert mismatched == [], main
    kpa = con.execute(
        "select count(distinct company_id) from marts.rpt_profit_and_loss where schema_variant = 'KPA' "
        "and report_line_code = 'PL_WAGES' and amount_ytd <> 0"
    ).fetchone()[0]
    assert kpa >= 3


def test_comparatives_are_the_prior_fiscal_years_same_month(con):
    mismatched = con.execute("""
        select c.company_id, c.fiscal_year, c.month_of_fiscal_year, c.report_line_code
        from marts.rpt_profit_and_loss as c
        left join marts.rpt_profit_and_loss as p
            on p.company_id = c.company_id and p.fiscal_year = c.prior_fiscal_year
            and p.month_of_fiscal_year = c.month_of_fiscal_year and p.report_line_code = c.report_line_code
        where c.prior_fiscal_year is not null and p.amount_ytd is distinct from c.amount_prior_year_ytd""").fetchall()
    assert mismatched == []
    # Cirrus: an 18-month fiscal year 2025, then 12 months: flagged, and the total beside the month
    cirrus = con.execute("""
        select distinct fiscal_year, fiscal_year_months, prior_fiscal_year_months, is_irregular_length
        from marts.rpt_profit_and_loss where company_id = 'cirrus' order by 1""").fetchall()
    assert cirrus == [(2025, 18, None, True), (2026, 12, 18, True)]
    totals = con.execute("""
        select distinct c.amount_prior_year_total, p.amount_ytd
        from marts.rpt_profit_and_loss as c
        join marts.rpt_profit_and_loss as p
            on p.company_id = c.company_id and p.fiscal_year = c.prior_fiscal_year
            and p.report_line_code = c.report_line_code and p.month_of_fiscal_year = 18
        where c.company_id = 'cirrus' and c.fiscal_year = 2026 and c.report_line_code = 'PL_NET_RESULT'""").fetchall()
    assert len(totals) == 1 and totals[0][0] == totals[0][1]


def test_the_balance_sheet_carries_the_prior_fiscal_year_end(con):
    mismatched = con.execute("""
        select b.company_id, b.month_end, b.report_line_code
        from marts.rpt_balance_sheet as b
        left join marts.rpt_balance_sheet as p
            on p.company_id = b.company_id and p.month_end = last_day(b.prior_year_end_date)
            and p.report_line_code = b.report_line_code
        where b.prior_year_end_date is not null and p.amount is distinct from b.amount_prior_year_end""").fetchall()
    assert mismatched == []
    with_comparative = "select count(*) from marts.rpt_balance_sheet where amount_prior_year_end is not null"
    assert con.execute(with_comparative).fetchone()[0] > 0


def test_equity_statements_exist_for_every_company_and_tie_to_the_balance_sheet(con):
    companies = {r[0] for r in con.execute("select company_id from marts.dim_company").fetchall()}
    assert {r[0] for r in con.execute("select distinct company_id from marts.rpt_equity_changes").fetchall()} == (
        companies
    )
    # every line: the opening plus the named movements is the balance sheet at the fiscal year end, with
    # nothing left to a balancing figure (other_changes, the unexplained rest, is zero)
    untied = con.execute("""
        select e.company_id, e.fiscal_year, e.report_line_code, e.other_changes
        from marts.rpt_equity_changes as e
        join marts.dim_fiscal_period as f using (company_id, fiscal_year)
        left join marts.rpt_balance_sheet as b
            on b.company_id = e.company_id and b.month_end = last_day(f.end_date)
            and b.report_line_code = e.report_line_code
        where b.amount is distinct from e.amount_opening + e.result_for_the_year + e.previous_result_transferred
                                        + e.booked_increases + e.booked_decreases
           or e.other_changes <> 0""").fetchall()
    assert untied == []
    unbalanced = con.execute("""
        select count(*) from marts.rpt_distributable_equity
        where restricted_equity + free_equity + other_equity <> equity_total""").fetchone()[0]
    assert unbalanced == 0


def test_only_decree_items_are_printed(con):
    # PMA's PL_TAXES (the two tax items summed) stays readable but is not printed; minority interests
    # (consolidated statements only) are printed only when they hold an amount
    printed = con.execute("""
        select distinct report_line_code from marts.rpt_profit_and_loss
        where is_printed and (
            report_line_code = 'PL_TAXES'
            or report_line_code = 'PL_MINORITY_INTEREST' and amount_ytd = 0 and coalesce(amount_prior_year_ytd, 0) = 0
               and coalesce(amount_prior_year_total, 0) = 0
        )""").fetchall()
    assert printed == []
    kept = "select count(*) from marts.rpt_profit_and_loss where report_line_code = 'PL_TAXES'"
    assert con.execute(kept).fetchone()[0] > 0
