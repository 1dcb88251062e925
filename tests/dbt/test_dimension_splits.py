"""A ledger line split between dimension items books each item its own amount in rpt_pl_by_dimension.

The real dbt project over a small hand-written Procountor lake: one fiscal year in the new raw shape
(each dimension item with its split amount), one written before the split amount was kept (no amount
field, none of the newer columns), so the build also shows lake_scan reading old Parquet.
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

pytestmark = pytest.mark.e2e  # a real dbt build (about 12 s): in `make test`, not `make test-fast`

MONEY = pa.decimal128(18, 2)
OLD_SPLIT = pa.struct([("dimension_id", pa.string()), ("item_id", pa.string())])
SPLIT = pa.struct([("dimension_id", pa.string()), ("item_id", pa.string()), ("amount", MONEY)])
MONTH_2025, MONTH_2024 = date(2024, 6, 1), date(2023, 6, 1)


def write(lake: Path, endpoint: str, partition: str, rows: list[dict], schema: pa.Schema) -> None:
    path = lake / "raw" / "procountor" / endpoint / partition / "part-0.parquet"
    path.parent.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)


def ledger_rows(fiscal_year: int, day: date, receipts: list[tuple[str, list[tuple[str, str, list]]]]) -> list[dict]:
    rows = []
    for number, (receipt, lines) in enumerate(receipts, start=1):
        for line_number, (account, amount, dims) in enumerate(lines, start=1):
            rows.append(
                {"company_id": "eira", "fiscal_year": fiscal_year, "period_id": f"p{fiscal_year}",
                 "receipt_id": receipt, "receipt_type": "JOURNAL", "receipt_number": str(number),
                 "receipt_date": day, "is_official": True, "line_number": line_number,
                 "account_number": account, "amount": Decimal(amount), "vat_percent": Decimal(0),
                 "dimensions": dims}
            )  # fmt: skip
    return rows


def split(dimension: str, item: str, amount: str | None = None) -> dict:
    found = {"dimension_id": dimension, "item_id": item}
    return found if amount is None else {**found, "amount": Decimal(amount)}


# The connector's ledger layout; the older files lack the columns added later and the split amount.
LATER = ("vat_status", "vat_deduction_percent", "derived_from_line")
LEDGER_FIELDS = [(f.name, f.type) for f in procountor.SCHEMAS["ledger"] if f.name not in (*LATER, "dimensions")]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("dimension_splits")
    lake = tmp / "lake"
    periods = [
        {"company_id": "eira", "period_id": f"p{y}", "start_date": date(y - 1, 5, 1), "end_date": date(y, 4, 30),
         "fiscal_year": y, "is_locked": False}
        for y in (2024, 2025)
    ]  # fmt: skip
    write(lake, "periods", "company=eira", periods, pa.schema([
        ("company_id", pa.string()), ("period_id", pa.string()), ("start_date", pa.date32()),
        ("end_date", pa.date32()), ("fiscal_year", pa.int32()), ("is_locked", pa.bool_())]))  # fmt: skip
    items = [("10", "Kustannuspaikka", "100"), ("10", "Kustannuspaikka", "101"), ("20", "Projekti", "200")]
    write(
        lake, "dimensions", "company=eira",
        [{"company_id": "eira", "dimension_type_id": t, "dimension_type_name": n, "item_id": i,
          "item_code": f"code-{i}", "item_name": f"item {i}", "is_active": True} for t, n, i in items],
        pa.schema([("company_id", pa.string()), ("dimension_type_id", pa.string()),
                   ("dimension_type_name", pa.string()), ("item_id", pa.string()), ("item_code", pa.string()),
                   ("item_name", pa.string()), ("is_active", pa.bool_())]),
    )  # fmt: skip
    new = ledger_rows(2025, date(2024, 6, 15), [
        ("R1", [("4000", "1000", [split("10", "100", "600"), split("10", "101", "400"), split("20", "200", "1000")]),
                ("1910", "-1000", [])]),
        ("R2", [("3000", "-500", [split("10", "100", "-500")]), ("1910", "500", [])]),
        ("R3", [("4000", "200", []), ("1910", "-200", [])]),
        ("R4", [("4000", "300", [split("10", "100", "100")]), ("1910", "-300", [])]),  # 200 left unallocated
    ])  # fmt: skip
    for row in new:
        row.update(vat_status=None, vat_deduction_percent=None, derived_from_line=None)
    write(lake, "ledger", "company=eira/fiscal_year=2025", new, procountor.SCHEMAS["ledger"])
    old = ledger_rows(2024, date(2023, 6, 15), [
        ("R5", [("4000", "50", [split("10", "101")]), ("1910", "-50", [])]),  # the only item: the whole line
        ("R6", [("4000", "80", [split("10", "100"), split("10", "101")]), ("1910", "-80", [])]),  # unknown
    ])  # fmt: skip
    write(lake, "ledger", "company=eira/fiscal_year=2024", old,
          pa.schema([*LEDGER_FIELDS, ("dimensions", pa.list_(OLD_SPLIT))]))  # fmt: skip

    build_db = tmp / "build.duckdb"
    company = {"id": "eira", "name": "Eira Oy", "business_id": "1234567-1", "erp": "procountor",
               "report_schema": "KPA", "chart_template": "default", "bank_connections": []}  # fmt: skip
    config_dir = write_company_tables([company], tmp / "config")
    dbt_vars = {"lake_root": str(lake), "build_db": str(build_db), "config_dir": str(config_dir)}
    subprocess.run(
        [dbt_executable(), "build", "--full-refresh", "--quiet", *FILE_LOG, "--vars", json.dumps(dbt_vars),
         "--select", "+assert_dimension_split_sums_to_pl +warn_dimension_splits_sum_to_line",
         "--indirect-selection", "empty",
         "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
         "--target-path", str(tmp / "target"), "--log-path", str(tmp / "logs")],
        check=True,
    )  # fmt: skip
    results = json.loads((tmp / "target" / "run_results.json").read_text())["results"]
    statuses = {r["unique_id"].split(".")[-1]: r["status"] for r in results if r["unique_id"].startswith("test.")}
    assert statuses == {"assert_dimension_split_sums_to_pl": "pass", "warn_dimension_splits_sum_to_line": "warn"}
    return build_db


def query(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def by_item(db: Path, dimension_type: str, line: str, month: date) -> dict[str, Decimal]:
    return dict(
        query(
            db,
            "select item_code, amount from marts.rpt_pl_by_dimension where dimension_type = "
            f"'{dimension_type}' and report_line_code = '{line}' and month_start = '{month}'",
        )
    )


def test_the_gl_keeps_each_items_split_signed_like_the_line(built):
    dims = dict(query(built, "select voucher_id, dimensions from marts.fct_gl_entries where line_number = 1"))
    assert dims["R1"] == [
        {"dimension_type": "10", "item_code": "100", "amount": Decimal("600.00")},
        {"dimension_type": "10", "item_code": "101", "amount": Decimal("400.00")},
        {"dimension_type": "20", "item_code": "200", "amount": Decimal("1000.00")},
    ]
    assert dims["R2"] == [{"dimension_type": "10", "item_code": "100", "amount": Decimal("-500.00")}]
    # Parquet from before the split amount: a type's only item holds the line, several stay unknown
    assert dims["R5"] == [{"dimension_type": "10", "item_code": "101", "amount": Decimal("50.00")}]
    assert [d["amount"] for d in dims["R6"]] == [None, None]


def test_a_600_400_split_books_600_and_400_and_the_rest_is_unallocated(built):
    # costs presented credit minus debit: R1's 600/400, R4's 100 of 300; R3 (no item) and R4's 200 unallocated
    assert by_item(built, "10", "PL_MATERIALS_AND_SERVICES", MONTH_2025) == {
        "100": Decimal("-700.00"),
        "101": Decimal("-400.00"),
        "unallocated": Decimal("-400.00"),
    }
    assert by_item(built, "10", "PL_REVENUE", MONTH_2025) == {"100": Decimal("500.00")}  # fully covered
    assert by_item(built, "20", "PL_MATERIALS_AND_SERVICES", MONTH_2025) == {
        "200": Decimal("-1000.00"),
        "unallocated": Decimal("-500.00"),
    }
    assert by_item(built, "10", "PL_MATERIALS_AND_SERVICES", MONTH_2024) == {
        "101": Decimal("-50.00"),
        "unallocated": Decimal("-80.00"),
    }


def test_every_dimension_type_sums_to_the_profit_and_loss(built):
    assert query(built, """
        select d.dimension_type, d.month_start, d.report_line_code, sum(d.amount), any_value(p.amount_month)
        from marts.rpt_pl_by_dimension as d join marts.rpt_profit_and_loss as p using (month_start, report_line_code)
        group by all having sum(d.amount) <> any_value(p.amount_month)""") == []  # fmt: skip


def test_the_warning_names_each_line_whose_splits_miss_its_amount(built):
    problems = sorted(
        r[0] for r in query(built, "select problem from dbt_test__audit.warn_dimension_splits_sum_to_line")
    )
    assert problems == [
        "company eira, voucher R4 (number 4), line 1, dimension type 10 (Kustannuspaikka): 1 items split 100.00, "
        "the line amount is 300.00",
        "company eira, voucher R6 (number 2), line 1, dimension type 10 (Kustannuspaikka): 2 items split an "
        "unknown amount, the line amount is 80.00",
    ]
