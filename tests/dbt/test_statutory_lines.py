"""Every statutory line the decrees define, against figures computed by hand.

The real dbt project over a small hand-written Procountor lake: five companies keep the same books, one in
each schema variant (KPA, PMA, PMA_BRUTTO, PMA_MIKRO, PMA_MIKRO_BRUTTO). Fiscal year 2024 runs 18 months
(1.1.2023-30.6.2024) and opens with an opening voucher that carries every kind of equity item, a 237x
result of the year before and a poistoero; it books each KPA sub-item once (purchases, a stock change,
external services, wages, pension, other social costs, planned depreciation, an impairment, group and other
interest income and expenses, a poistoero change, a group contribution, income and other direct taxes, a
dividend, the 237x result moved to 2251) and closes its result by entry (9999 against 2371). Fiscal year
2025 (12 months) has no opening voucher, so the balance sheet carries forward and last year's 2371 balance
is moved to 2251 during the year.

The hand computation, fiscal year 2024 (P&L credit minus debit):
  revenue 12 400 (January 2023) + 600 (May 2023) = 13 000; purchases -3 000; stock change +500;
  external services -1 000 (materials and services -3 500); wages -2 000, pension -300, other social -100
  (personnel -2 400); planned depreciation -200, impairment -50 (-250); other operating expenses -400;
  operating result 6 450; financial +30 group interest income, +20 other, -15 group interest, -25 other
  (+10); before appropriations 6 460; poistoero change -100, group contribution -200 (-300); income taxes
  -500; other direct taxes -10; net result 5 650, closed by 9999 Dr 5 650 / 2371 Cr 5 650.
Fiscal year 2025: revenue 1 000 (July 2024) + 2 000 (January 2025), rents -300: net result 2 700.
"""

from __future__ import annotations

import json
import subprocess
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from assets.company_tables import write_company_tables
from assets.transform import FILE_LOG, dbt_executable
from connectors import procountor
from connectors.settings import DBT_PROJECT_DIR

pytestmark = pytest.mark.e2e  # a real dbt build: in `make test`, not `make test-fast`

COMPANIES = {
    "kpa": "KPA",
    "pien": "PMA",
    "pienbrutto": "PMA_BRUTTO",
    "mikro": "PMA_MIKRO",
    "mikrobrutto": "PMA_MIKRO_BRUTTO",
}
FY2024_END, FY2025_END = date(2024, 6, 30), date(2025, 6, 30)

OPENING = [  # 1.1.2023, the opening voucher of fiscal year 2024 (debit positive)
    ("1910", "10000"), ("1020", "400"), ("1160", "2000"),
    ("2000", "-2500"), ("2101", "-100"), ("2151", "-100"), ("2201", "-100"),  # share capital 2 800
    ("2020", "-1000"), ("2030", "-500"), ("2050", "-300"), ("2070", "-700"),
    ("2250", "-2000"), ("2371", "-1500"), ("2381", "-1000"), ("2401", "-600"), ("2620", "-2000"),
]  # fmt: skip
FY2024 = [  # (voucher, date, [(account, amount, dimensions)])
    ("A1", date(2023, 1, 20), [("1700", "12400"), ("3000", "-12400")]),
    ("A2", date(2023, 5, 10), [("1700", "600"), ("3010", "-600")]),
    ("A3", date(2023, 3, 15), [("4000", "3000"), ("1910", "-3000")]),
    ("A4", date(2023, 3, 15), [("1500", "500"), ("4400", "-500")]),
    ("A5", date(2023, 3, 15), [("4450", "1000"), ("2871", "-1000")]),
    ("A6", date(2023, 3, 15), [("5000", "2000"), ("1910", "-2000")]),
    ("A7", date(2023, 3, 15), [("6130", "300"), ("2931", "-300")]),
    ("A8", date(2023, 3, 15), [("6410", "100"), ("1910", "-100")]),
    ("A9", date(2023, 3, 15), [("6800", "200"), ("1160", "-200")]),
    ("A10", date(2023, 3, 15), [("6900", "50"), ("1160", "-50")]),
    ("A11", date(2023, 3, 15), [("7200", "400"), ("1910", "-400")]),
    ("A12", date(2023, 3, 15), [("1910", "30"), ("9150", "-30")]),
    ("A13", date(2023, 3, 15), [("1910", "20"), ("9160", "-20")]),
    ("A14", date(2023, 3, 15), [("9420", "15"), ("1910", "-15")]),
    ("A15", date(2023, 3, 15), [("9440", "25"), ("2620", "-25")]),
    ("A16", date(2023, 3, 15), [("9820", "100"), ("2441", "-100")]),
    ("A17", date(2023, 3, 15), [("9760", "200"), ("2900", "-200")]),
    ("A18", date(2023, 3, 15), [("9900", "500"), ("2940", "-500")]),
    ("A19", date(2023, 3, 15), [("9980", "10"), ("1910", "-10")]),
    ("A20", date(2023, 4, 20), [("2250", "800"), ("2945", "-800")]),  # dividend
    ("A21", date(2023, 4, 20), [("2371", "1500"), ("2251", "-1500")]),  # last year's result to 2251
    ("A22", date(2024, 6, 30), [("9999", "5650"), ("2371", "-5650")]),  # the result closed by entry
]
FY2025 = [
    ("B1", date(2024, 7, 15), [("1910", "1000"), ("3000", "-1000")]),
    ("B2", date(2024, 8, 10), [("2371", "5650"), ("2251", "-5650")]),
    ("B3", date(2025, 1, 20), [("1910", "2000"), ("3000", "-2000")]),
    ("B4", date(2025, 3, 31), [("7200", "300"), ("1910", "-300")]),
]
MIKRO_LOSS = ("B5", date(2025, 4, 15), [("8380", "20000"), ("2871", "-20000")])  # mikro's equity turns negative
OTHER_TAX_ONLY = ("B6", date(2025, 2, 1), [("9980", "10"), ("1910", "-10")])  # pienbrutto: 998x is no income tax


def write(lake: Path, endpoint: str, partition: str, rows: list[dict], schema: pa.Schema) -> None:
    path = lake / "raw" / "procountor" / endpoint / partition / "part-0.parquet"
    path.parent.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)


def ledger(company: str, fiscal_year: int, vouchers, receipt_type: str = "JOURNAL") -> list[dict]:
    rows = []
    for voucher, day, lines in vouchers:
        for line_number, (account, amount) in enumerate(lines, start=1):
            unknown_item = (company, voucher, line_number) == ("kpa", "A11", 1)  # an item dim_dimension lacks
            dims = [{"dimension_id": "10", "item_id": "999"}] if unknown_item else []
            rows.append(
                {"company_id": company, "fiscal_year": fiscal_year, "period_id": f"p{fiscal_year}",
                 "receipt_id": f"{company}-{voucher}", "receipt_type": receipt_type, "receipt_number": voucher,
                 "receipt_date": day, "is_official": True, "line_number": line_number, "account_number": account,
                 "amount": Decimal(amount), "vat_percent": Decimal(0), "is_derived_vat": False, "dimensions": dims}
            )  # fmt: skip
    return rows


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("statutory_lines")
    lake = tmp / "lake"
    companies = []
    for company, variant in COMPANIES.items():
        periods = [
            {"company_id": company, "period_id": "p2024", "start_date": date(2023, 1, 1), "end_date": FY2024_END,
             "fiscal_year": 2024, "is_locked": True},
            {"company_id": company, "period_id": "p2025", "start_date": date(2024, 7, 1), "end_date": FY2025_END,
             "fiscal_year": 2025, "is_locked": company in ("pien", "pienbrutto")},  # closed: a year that ended
        ]  # fmt: skip
        write(lake, "periods", f"company={company}", periods, procountor.SCHEMAS["periods"])
        write(lake, "dimensions", f"company={company}",
              [{"company_id": company, "dimension_type_id": "10", "dimension_type_name": "Kustannuspaikka",
                "item_id": "100", "item_code": "100", "item_name": "Myynti", "is_active": True}],
              procountor.SCHEMAS["dimensions"])  # fmt: skip
        opening = ledger(company, 2024, [("O1", date(2023, 1, 1), OPENING)], "RECEIPT_FOR_OPENING_ACCOUNTS")
        write(lake, "ledger", f"company={company}/fiscal_year=2024", opening + ledger(company, 2024, FY2024),
              procountor.SCHEMAS["ledger"])  # fmt: skip
        later = (
            FY2025
            + ([MIKRO_LOSS] if company == "mikro" else [])
            + ([OTHER_TAX_ONLY] if company == "pienbrutto" else [])
        )
        write(lake, "ledger", f"company={company}/fiscal_year=2025", ledger(company, 2025, later),
              procountor.SCHEMAS["ledger"])  # fmt: skip
        companies.append({"id": company, "name": f"{company} Oy", "business_id": "1234567-1", "erp": "procountor",
                          "report_schema": variant, "chart_template": "default", "bank_connections": []})  # fmt: skip

    build_db = tmp / "build.duckdb"
    config_dir = write_company_tables(companies, tmp / "config")
    dbt_vars = {"lake_root": str(lake), "build_db": str(build_db), "config_dir": str(config_dir)}
    subprocess.run(
        [dbt_executable(), "build", "--full-refresh", "--quiet", *FILE_LOG, "--vars", json.dumps(dbt_vars),
         "--select", "report_lines report_line_ranges account_classes +rpt_equity_changes +rpt_distributable_equity "
                     "+rpt_pl_by_dimension +dim_account +dim_company +dim_report_line +dim_fiscal_period "
                     "+fct_account_balances_monthly +rpt_profit_and_loss",
         "--exclude", "assert_accounts_exist_in_chart assert_reconciles_to_erp assert_gl_matches_raw_lake",
         "--indirect-selection", "cautious",
         "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
         "--target-path", str(tmp / "target"), "--log-path", str(tmp / "logs")],
        check=True,
    )  # fmt: skip
    results = json.loads((tmp / "target" / "run_results.json").read_text())["results"]
    tests = {r["unique_id"].split(".")[2]: r["status"] for r in results if r["unique_id"].startswith("test.")}
    assert {name for name, status in tests.items() if status != "pass"} == {
        "warn_negative_equity",
        "warn_profit_without_income_tax",
        "warn_result_closing_account_balance",
        "warn_gl_dimension_items_exist",
    }, tests
    assert {tests[name] for name in tests if name.startswith("warn_") and tests[name] != "pass"} == {"warn"}
    for must_pass in (
        "assert_statement_arithmetic",
        "assert_pl_result_equals_bs_result",
        "assert_balance_sheet_balances",
        "assert_trial_balance_nets_to_zero",
        "assert_accounts_map_to_exactly_one_line",
        "assert_leaf_ranges_do_not_overlap",
        "assert_closing_equals_next_opening",
        "assert_equity_changes_tie_to_balance_sheet",
        "assert_distributable_equity_ties_to_balance_sheet",
        "assert_company_schema_variant_known",
    ):
        assert tests.get(must_pass) == "pass", (must_pass, tests.get(must_pass))
    return build_db


def query(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def pl(db: Path, company: str, month_end: date, column: str = "amount_ytd") -> dict[str, Decimal | None]:
    return dict(
        query(
            db,
            f"select report_line_code, {column} from marts.rpt_profit_and_loss where company_id = ? and month_end = ?",
            [company, month_end],
        )
    )


def bs(db: Path, company: str, month_end: date, column: str = "amount") -> dict[str, Decimal | None]:
    return dict(
        query(
            db,
            f"select report_line_code, {column} from marts.rpt_balance_sheet where company_id = ? and month_end = ?",
            [company, month_end],
        )
    )


def d(value: str) -> Decimal:
    return Decimal(value).quantize(Decimal("0.01"))


def test_the_kpa_profit_and_loss_has_every_sub_item(built):
    got = pl(built, "kpa", FY2024_END)
    expected = {
        "PL_REVENUE": "13000", "PL_INVENTORY_CHANGE": "0", "PL_OWN_WORK": "0", "PL_OTHER_OPERATING_INCOME": "0",
        "PL_MATERIALS_AND_SERVICES": "-3500", "PL_MATERIALS_GOODS": "-2500", "PL_MATERIALS_PURCHASES": "-3000",
        "PL_MATERIALS_STOCK_CHANGE": "500", "PL_EXTERNAL_SERVICES": "-1000",
        "PL_PERSONNEL": "-2400", "PL_WAGES": "-2000", "PL_SOCIAL_SECURITY": "-400", "PL_PENSION_EXPENSES": "-300",
        "PL_OTHER_SOCIAL_SECURITY": "-100",
        "PL_DEPRECIATION": "-250", "PL_DEPRECIATION_PLANNED": "-200", "PL_IMPAIRMENT_NON_CURRENT": "-50",
        "PL_IMPAIRMENT_CURRENT_EXCEPTIONAL": "0", "PL_OTHER_OPERATING_EXPENSES": "-400",
        "PL_OPERATING_RESULT": "6450",
        "PL_FINANCIAL": "10", "PL_FIN_GROUP_SHARE_INCOME": "0", "PL_FIN_PARTICIPATING_INCOME": "0",
        "PL_FIN_OTHER_INVESTMENT_INCOME": "0", "PL_FIN_OTHER_INVESTMENT_INCOME_GROUP": "0",
        "PL_FIN_OTHER_INVESTMENT_INCOME_OTHER": "0", "PL_FIN_OTHER_INTEREST_INCOME": "50",
        "PL_FIN_OTHER_INTEREST_INCOME_GROUP": "30", "PL_FIN_OTHER_INTEREST_INCOME_OTHER": "20",
        "PL_FIN_IMPAIRMENT_INVESTMENTS": "0", "PL_FIN_IMPAIRMENT_SECURITIES": "0", "PL_FIN_INTEREST_EXPENSES": "-40",
        "PL_FIN_INTEREST_EXPENSES_GROUP": "-15", "PL_FIN_INTEREST_EXPENSES_OTHER": "-25",
        "PL_RESULT_BEFORE_APPROPRIATIONS": "6460",
        "PL_APPROPRIATIONS": "-300", "PL_CHANGE_IN_DEPRECIATION_DIFFERENCE": "-100",
        "PL_CHANGE_IN_UNTAXED_RESERVES": "0", "PL_GROUP_CONTRIBUTIONS": "-200",
        "PL_INCOME_TAXES": "-500", "PL_OTHER_DIRECT_TAXES": "-10", "PL_MINORITY_INTEREST": "0",
        "PL_NET_RESULT": "5650",
    }  # fmt: skip
    assert got == {code: d(v) for code, v in expected.items()}  # the closing entry (9999) is no line


def test_the_main_items_print_as_the_decree_prints_them(built):
    labels = dict(
        query(built, "select report_line_code, label_fi || ' | ' || label_sv from marts.dim_report_line "
                     "where schema_variant = 'KPA' and level = 0 and statement = 'PL'")
    )  # fmt: skip
    assert labels == {
        "PL_OPERATING_RESULT": "LIIKEVOITTO (-TAPPIO) | RÖRELSEVINST (-FÖRLUST)",
        "PL_RESULT_BEFORE_APPROPRIATIONS": "VOITTO (TAPPIO) ENNEN TILINPÄÄTÖSSIIRTOJA JA VEROJA | "
        "VINST (FÖRLUST) FÖRE BOKSLUTSDISPOSITIONER OCH SKATTER",
        "PL_NET_RESULT": "TILIKAUDEN VOITTO (TAPPIO) | RÄKENSKAPSPERIODENS VINST (FÖRLUST)",
    }
    assert query(built, "select count(*) from marts.dim_report_line where decree_ref is null or decree_ref = ''") == [
        (0,)
    ]
    # item 1 prints in capitals too (LIIKEVAIHTO / OMSÄTTNING), as the decree prints it
    assert query(built, "select label_fi, label_sv from marts.dim_report_line "
                        "where schema_variant = 'KPA' and report_line_code = 'PL_REVENUE'") == [
        ("LIIKEVAIHTO", "OMSÄTTNING")
    ]  # fmt: skip
    refs = dict(
        query(built, "select report_line_code, decree_ref from marts.dim_report_line where schema_variant = 'KPA' "
                     "and report_line_code in ('PL_MATERIALS_PURCHASES', 'PL_MATERIALS_STOCK_CHANGE', "
                     "'PL_PENSION_EXPENSES', 'PL_OTHER_SOCIAL_SECURITY')")
    )  # fmt: skip
    assert refs == {
        "PL_MATERIALS_PURCHASES": "KPA 1:1 item 5 a aa",
        "PL_MATERIALS_STOCK_CHANGE": "KPA 1:1 item 5 a bb",
        "PL_PENSION_EXPENSES": "KPA 1:1 item 6 b aa",
        "PL_OTHER_SOCIAL_SECURITY": "KPA 1:1 item 6 b bb",
    }


def test_the_kpa_balance_sheet_has_every_sub_item_and_the_equity_lines_of_their_own(built):
    got = {k: v for k, v in bs(built, "kpa", FY2024_END).items() if v != 0}
    expected = {
        "BS_NON_CURRENT_ASSETS": "2150", "BS_INTANGIBLE_ASSETS": "400", "BS_DEVELOPMENT_COSTS": "400",
        "BS_TANGIBLE_ASSETS": "1750", "BS_MACHINERY_AND_EQUIPMENT": "1750",
        "BS_CURRENT_ASSETS": "18025", "BS_INVENTORIES": "500", "BS_INV_MATERIALS": "500",
        "BS_RECEIVABLES": "13000", "BS_RECEIVABLES_SHORT_TERM": "13000", "BS_ST_REC_TRADE": "13000",
        "BS_CASH": "4525", "BS_ASSETS_TOTAL": "20175",
        "BS_SHARE_CAPITAL": "2800", "BS_SHARE_PREMIUM": "1000", "BS_REVALUATION_RESERVE": "500",
        "BS_OTHER_RESERVES": "1000", "BS_LEGAL_RESERVE": "300", "BS_OTHER_RESERVES_OTHER": "700",
        # 2250/2251: 2 000 - 800 + 1 500; 2371: 1 500 - 1 500 + 5 650, less the 5 650 closed by 9999
        "BS_PRIOR_YEARS_RESULT": "2700", "BS_CURRENT_YEAR_RESULT": "5650", "BS_CAPITAL_LOANS": "1000",
        "BS_EQUITY_TOTAL": "14650",
        "BS_APPROPRIATIONS_ACCUMULATED": "700", "BS_DEPRECIATION_DIFFERENCE": "700",
        "BS_LIABILITIES_LONG_TERM": "2025", "BS_LT_CREDIT_INSTITUTIONS": "2025",
        "BS_LIABILITIES_SHORT_TERM": "2800", "BS_ST_TRADE": "1000", "BS_ST_GROUP": "200", "BS_ST_OTHER": "1600",
        "BS_LIABILITIES_TOTAL": "4825", "BS_EQUITY_AND_LIABILITIES_TOTAL": "20175",
    }  # fmt: skip
    assert got == {code: d(v) for code, v in expected.items()}


def test_a_carried_237x_balance_is_prior_years_result_not_added_to_this_years(built):
    # fiscal year 2025 has no opening voucher: 2371 still holds 5 650 in July 2024, moved to 2251 in August
    for month_end in (date(2024, 7, 31), date(2024, 8, 31), FY2025_END):
        got = bs(built, "kpa", month_end)
        ytd = pl(built, "kpa", month_end)["PL_NET_RESULT"]
        assert got["BS_PRIOR_YEARS_RESULT"] == d("8350"), month_end
        assert got["BS_CURRENT_YEAR_RESULT"] == ytd
    assert pl(built, "kpa", FY2025_END)["PL_NET_RESULT"] == d("2700")
    assert bs(built, "kpa", FY2025_END)["BS_EQUITY_TOTAL"] == d("17350")


def test_the_balance_sheet_carries_the_prior_fiscal_year_end_beside_it(built):
    prior = bs(built, "kpa", FY2025_END, "amount_prior_year_end")
    assert prior["BS_EQUITY_TOTAL"] == d("14650") and prior["BS_ASSETS_TOTAL"] == d("20175")
    assert prior["BS_CURRENT_YEAR_RESULT"] == d("5650")
    assert query(
        built, "select distinct prior_year_end_date from marts.rpt_balance_sheet where fiscal_year = 2025"
    ) == [(FY2024_END,)]
    assert query(
        built, "select count(*) from marts.rpt_balance_sheet where fiscal_year = 2024 and amount_prior_year_end is not null"
    ) == [(0,)]  # fmt: skip


def test_comparatives_align_on_the_month_of_the_fiscal_year(built):
    # July 2024 is month 1 of 2025; month 1 of the 18-month 2024 is January 2023 (12 400 of revenue), while
    # the same calendar month a year before (July 2023, month 7) had 13 000
    rows = query(
        built,
        "select month_of_fiscal_year, amount_ytd, amount_prior_year_ytd, amount_prior_year_total, prior_fiscal_year, "
        "fiscal_year_months, prior_fiscal_year_months, is_irregular_length from marts.rpt_profit_and_loss "
        "where company_id = 'kpa' and fiscal_year = 2025 and report_line_code = 'PL_REVENUE' and month_of_fiscal_year in (1, 7) "
        "order by 1",
    )  # fmt: skip
    assert rows == [
        (1, d("1000"), d("12400"), d("13000"), 2024, 12, 18, True),
        (7, d("3000"), d("13000"), d("13000"), 2024, 12, 18, True),
    ]
    first = query(
        built,
        "select distinct amount_prior_year_ytd, amount_prior_year_total, prior_fiscal_year, fiscal_year_months, "
        "is_irregular_length from marts.rpt_profit_and_loss where company_id = 'kpa' and fiscal_year = 2024",
    )
    assert first == [(None, None, None, 18, True)]


def test_the_small_company_forms(built):
    common = {
        "PL_PERSONNEL": "-2400", "PL_DEPRECIATION": "-250", "PL_OTHER_OPERATING_EXPENSES": "-400",
        "PL_OPERATING_RESULT": "6450", "PL_FINANCIAL": "10", "PL_RESULT_BEFORE_APPROPRIATIONS": "6460",
        "PL_APPROPRIATIONS": "-300", "PL_INCOME_TAXES": "-500", "PL_OTHER_DIRECT_TAXES": "-10",
        "PL_MINORITY_INTEREST": "0", "PL_NET_RESULT": "5650",
    }  # fmt: skip
    forms = {
        "pien": {"PL_REVENUE": "13000", "PL_INVENTORY_CHANGE": "0", "PL_OWN_WORK": "0",
                 "PL_OTHER_OPERATING_INCOME": "0", "PL_MATERIALS_AND_SERVICES": "-3500", "PL_TAXES": "-510"},
        "pienbrutto": {"PL_GROSS_RESULT": "9500"},
        # the micro form has the small form's items (Taloushallintoliitto: the same P&L formula)
        "mikro": {"PL_REVENUE": "13000", "PL_INVENTORY_CHANGE": "0", "PL_OWN_WORK": "0",
                  "PL_OTHER_OPERATING_INCOME": "0", "PL_MATERIALS_AND_SERVICES": "-3500"},
        "mikrobrutto": {"PL_GROSS_RESULT": "9500"},
    }  # fmt: skip
    for company, own in forms.items():
        assert pl(built, company, FY2024_END) == {k: d(v) for k, v in {**common, **own}.items()}, company
    # not printed: PMA's PL_TAXES (no decree item, kept readable) and the minority interests at zero
    for company in forms:
        hidden = {r[0] for r in query(built, "select distinct report_line_code from marts.rpt_profit_and_loss "
                                             "where company_id = ? and not is_printed", [company])}  # fmt: skip
        assert hidden == ({"PL_TAXES", "PL_MINORITY_INTEREST"} if company == "pien" else {"PL_MINORITY_INTEREST"})
    short = {k: v for k, v in bs(built, "pien", FY2024_END).items() if v != 0}
    assert short == {k: d(v) for k, v in {
        "BS_NON_CURRENT_ASSETS": "2150", "BS_INTANGIBLE_ASSETS": "400", "BS_TANGIBLE_ASSETS": "1750",
        "BS_CURRENT_ASSETS": "18025", "BS_INVENTORIES": "500", "BS_RECEIVABLES_SHORT_TERM": "13000",
        "BS_CASH": "4525", "BS_ASSETS_TOTAL": "20175", "BS_SHARE_CAPITAL": "2800", "BS_SHARE_PREMIUM": "1000",
        "BS_REVALUATION_RESERVE": "500", "BS_OTHER_RESERVES": "1000", "BS_PRIOR_YEARS_RESULT": "2700",
        "BS_CURRENT_YEAR_RESULT": "5650", "BS_CAPITAL_LOANS": "1000", "BS_EQUITY_TOTAL": "14650",
        "BS_APPROPRIATIONS_ACCUMULATED": "700", "BS_LIABILITIES_LONG_TERM": "2025",
        "BS_LIABILITIES_SHORT_TERM": "2800", "BS_LIABILITIES_TOTAL": "4825",
        "BS_EQUITY_AND_LIABILITIES_TOTAL": "20175",
    }.items()}  # fmt: skip


def test_account_classes(built):
    classes = dict(
        query(built, "select account_number, account_class || ' ' || normal_side from marts.dim_account "
                     "where company_id = 'kpa' and account_number in "
                     "('2401', '2441', '9150', '9160', '9420', '9440', '9980', '9999', '2371')")
    )  # fmt: skip
    assert classes == {
        "2371": "equity credit",
        "2401": "accumulated_appropriations credit",
        "2441": "accumulated_appropriations credit",
        "9150": "financial credit",  # financial income, 9000-9299 (Tilitin's Rahoitustuotot)
        "9160": "financial credit",
        "9420": "financial debit",  # financial expenses, 9300-9699 (Tilitin's Rahoituskulut)
        "9440": "financial debit",
        "9980": "taxes debit",
        "9999": "result_closing debit",
    }
    assert query(built, "select report_line_code from marts.dim_account where account_number = '9999' limit 1") == [
        ("PL_RESULT_CLOSING",)
    ]
    # result closing is 9999 alone: 9990-9998 stay inside the year's result (Tilitin's result runs 3000-9999)
    lines = dict(
        query(built, "select r.range_start, r.report_line_code from reference.report_line_ranges as r "
                     "where r.schema_variant = 'KPA' and r.range_start >= '999'")
    )  # fmt: skip
    assert lines == {"9990": "PL_MINORITY_INTEREST", "9991": "PL_OTHER_DIRECT_TAXES", "9999": "PL_RESULT_CLOSING"}


EQUITY_COLUMNS = (
    "amount_opening, result_for_the_year, previous_result_transferred, booked_increases, booked_decreases, "
    "other_changes, amount_closing"
)


def equity_changes(db: Path, company: str, fiscal_year: int) -> dict[str, tuple[Decimal, ...]]:
    return {
        r[0]: r[1:]
        for r in query(
            db,
            f"select report_line_code, {EQUITY_COLUMNS} from marts.rpt_equity_changes "
            "where company_id = ? and fiscal_year = ?",
            [company, fiscal_year],
        )
    }


def test_the_statement_of_changes_in_equity(built):
    # Fiscal year 2024, the company's first: the opening is the opening voucher (1.1.2023); columns are
    # opening, result, previous result transferred, booked increases, booked decreases, other (unexplained),
    # closing, each closing = opening + result + transferred + increases + decreases.
    #   share capital 2000 2 500 + 2101 100 + 2151 100 + 2201 100 = 2 800, nothing booked
    #   share premium 2020 1 000; revaluation reserve 2030 500; fair value reserve none
    #   legal reserve 2050 300; other reserves 2070 700 (Muut rahastot 300 + 700 = 1 000)
    #   prior years: 2250 2 000 + 2371 1 500 = 3 500; A20 dividend 2250 Dr 800 (-800); A21 2371 Dr / 2251
    #     Cr 1 500 nets to 0 on the line; A22 (9999 Dr / 2371 Cr 5 650) is the result closed, not a booked
    #     increase: 3 500 - 800 = 2 700
    #   current year: 0 + the result 5 650 = 5 650
    #   capital loans 2381 1 000
    #   total: 2 800 + 1 000 + 500 + 1 000 + 3 500 + 1 000 = 9 800; + 5 650 - 800 = 14 650 (the balance sheet's)
    rows = equity_changes(built, "kpa", 2024)
    expected_2024 = {
        "BS_SHARE_CAPITAL": ("2800", "0", "0", "0", "0", "0", "2800"),
        "BS_SHARE_PREMIUM": ("1000", "0", "0", "0", "0", "0", "1000"),
        "BS_REVALUATION_RESERVE": ("500", "0", "0", "0", "0", "0", "500"),
        "BS_FAIR_VALUE_RESERVE": ("0", "0", "0", "0", "0", "0", "0"),
        "BS_OTHER_RESERVES": ("1000", "0", "0", "0", "0", "0", "1000"),
        "BS_LEGAL_RESERVE": ("300", "0", "0", "0", "0", "0", "300"),
        "BS_STATUTORY_RESERVES": ("0", "0", "0", "0", "0", "0", "0"),
        "BS_OTHER_RESERVES_OTHER": ("700", "0", "0", "0", "0", "0", "700"),
        "BS_PRIOR_YEARS_RESULT": ("3500", "0", "0", "0", "-800", "0", "2700"),
        "BS_CAPITAL_DEFICIT": ("0", "0", "0", "0", "0", "0", "0"),
        "BS_PRIVATE_ACCOUNTS": ("0", "0", "0", "0", "0", "0", "0"),
        "BS_CURRENT_YEAR_RESULT": ("0", "5650", "0", "0", "0", "0", "5650"),
        "BS_CAPITAL_LOANS": ("1000", "0", "0", "0", "0", "0", "1000"),
        "BS_EQUITY_TOTAL": ("9800", "5650", "0", "0", "-800", "0", "14650"),
    }  # fmt: skip
    assert rows == {code: tuple(d(v) for v in values) for code, values in expected_2024.items()}
    sheet = bs(built, "kpa", FY2024_END)
    assert {code: row[-1] for code, row in rows.items()} == {code: sheet[code] for code in rows}

    # Fiscal year 2025 (no opening voucher): the opening is the balance sheet at 30.6.2024; 2024's 5 650
    # moves from the current-year line to the prior-years line; B2 (2371 Dr / 2251 Cr 5 650) nets to 0
    rows = equity_changes(built, "kpa", 2025)
    assert rows["BS_PRIOR_YEARS_RESULT"] == tuple(d(v) for v in ("2700", "0", "5650", "0", "0", "0", "8350"))
    assert rows["BS_CURRENT_YEAR_RESULT"] == tuple(d(v) for v in ("5650", "2700", "-5650", "0", "0", "0", "2700"))
    assert rows["BS_EQUITY_TOTAL"] == tuple(d(v) for v in ("14650", "2700", "0", "0", "0", "0", "17350"))
    assert rows["BS_SHARE_CAPITAL"] == tuple(d(v) for v in ("2800", "0", "0", "0", "0", "0", "2800"))
    # nothing is left unexplained in any company's year
    assert query(built, "select count(*) from marts.rpt_equity_changes where other_changes <> 0") == [(0,)]


def test_distributable_free_equity(built):
    row = query(
        built,
        "select restricted_equity, free_reserves, prior_years_result, current_year_result, free_equity, "
        "development_costs, distributable_free_equity, other_equity, equity_total from marts.rpt_distributable_equity "
        "where company_id = ? and month_end = ?",
        ["pien", FY2025_END],
    )
    # restricted: 2 800 + 1 000 + 500 + 300 (vararahasto); free: 700 + 8 350 + 2 700; less kehittämismenot 400
    assert row == [tuple(d(v) for v in ("4600", "700", "8350", "2700", "11750", "400", "11350", "1000", "17350"))]


def test_the_warnings_name_what_an_accountant_must_look_at(built):
    def problems(test: str) -> list[str]:
        return sorted(r[0] for r in query(built, f"select problem from dbt_test__audit.{test}"))

    # mikro's 20 000 loss in April 2025: 17 350 - 20 000
    assert problems("warn_negative_equity") == [
        "company mikro: equity is negative, -2650.00 at 2025-04-30 (OYL 20:23: the board must register it)",
        "company mikro: equity is negative, -2650.00 at 2025-06-30 (OYL 20:23: the board must register it)",
    ]
    # pienbrutto's 2025 books only other direct taxes (9980, 10): 2 700 - 10 = 2 690 and still no income tax
    assert problems("warn_profit_without_income_tax") == [
        "company pien: fiscal year 2025 made a profit of 2700.00 and no income tax is booked",
        "company pienbrutto: fiscal year 2025 made a profit of 2690.00 and no income tax is booked",
    ]
    assert problems("warn_result_closing_account_balance") == [
        f"company {c}, account 9999 (result closing): balance 5650.00 at the end of fiscal year 2024"
        for c in sorted(COMPANIES)
    ]
    assert problems("warn_gl_dimension_items_exist") == [
        "company kpa, voucher kpa-A11 (number A11), line 1: dimension type 10 item 999 is not in dim_dimension"
    ]
