"""The demo's Procountor company end to end: its statements, VAT accounts and dimension split equal the
simulator's books to the cent, with receipts outside the books, split dimensions and partly deductible
VAT among them."""

from collections import Counter
from decimal import Decimal

import duckdb
import pytest

from simulator.catalogue import as_of, books_for, demo_tenants
from tests.e2e.conftest import book_totals

pytestmark = pytest.mark.e2e

EIRA = next(t for t in demo_tenants() if t.profile.key == "eira")
VAT_ACCOUNTS = ("1763", "2939")


@pytest.fixture(scope="module")
def books():
    return books_for(EIRA.profile, as_of())


@pytest.fixture(scope="module")
def warehouse(pipeline):
    con = duckdb.connect(str(pipeline["settings"].published_db), read_only=True)
    yield con
    con.close()


def test_the_books_hold_every_case_the_issue_names(books):
    lines = [line for v in books.valid_vouchers for line in v.lines]
    assert sum(1 for line in lines if line.splits) > 10
    assert {line.vat_deduction for line in lines if line.vat_percent} == {Decimal(0), Decimal(50), Decimal(100)}
    assert any(line.vat_code == "EU_MYYNTI" for line in lines)


def test_general_ledger_per_account_and_year_equals_the_books(warehouse, books):
    got = {
        (fy, account): amount
        for fy, account, amount in warehouse.execute(
            "select fiscal_year, account_number, sum(amount) from marts.fct_gl_entries "
            "where company_id = 'eira' group by all"
        ).fetchall()
    }
    expected = {k: v for k, v in book_totals(books).items() if v or k in got}
    assert {k: v for k, v in got.items() if v or k in expected} == expected
    vat_lines = warehouse.execute(
        "select fiscal_year, account_number, count(*) from marts.fct_gl_entries where company_id = 'eira' "
        "and account_number in ('1763', '2939') group by all"
    ).fetchall()
    assert len(vat_lines) == 2 * len(books.fiscal_years) and all(n > 10 for *_, n in vat_lines)


def test_profit_and_loss_and_balance_sheet_equal_the_books(warehouse, books):
    for fy in books.fiscal_years:
        result = -sum(
            (line.amount for v in books.valid_vouchers if fy.start <= v.date <= fy.end for line in v.lines
             if line.account >= "3"),
            Decimal(0),
        )  # fmt: skip
        net = warehouse.execute(
            "select sum(amount_month) from marts.rpt_profit_and_loss where company_id = 'eira' "
            "and fiscal_year = ? and report_line_code = 'PL_NET_RESULT'",
            [int(fy.key)],
        ).fetchone()[0]
        assert net == result, fy
        month_end, assets = warehouse.execute(
            "select month_end, amount from marts.rpt_balance_sheet where company_id = 'eira' "
            "and report_line_code = 'BS_ASSETS_TOTAL' and month_end <= ? order by month_end desc limit 1",
            [fy.end],
        ).fetchone()
        expected = sum(
            (line.amount for v in books.valid_vouchers if fy.start <= v.date <= month_end for line in v.lines
             if line.account < "2"),
            Decimal(0),
        )  # fmt: skip
        assert assets == expected, (fy, month_end)


def test_vat_accounts_equal_the_books_with_non_deductible_vat_left_on_the_expense(warehouse, books):
    totals = book_totals(books)
    for fy in books.fiscal_years:
        for account in (*VAT_ACCOUNTS, "8050"):
            got = warehouse.execute(
                "select coalesce(sum(amount), 0) from marts.fct_gl_entries where company_id = 'eira' "
                "and fiscal_year = ? and account_number = ?",
                [int(fy.key), account],
            ).fetchone()[0]
            assert got == totals[(int(fy.key), account)], (fy.key, account)


def test_pl_by_dimension_books_each_split_to_its_item(warehouse, books):
    ids = {}
    for n, (type_id, (_, items)) in enumerate(books.dimension_types.items()):
        ids[type_id] = str(279_000 + n), {code: str(777_000 + 10 * n + i) for i, (code, _) in enumerate(items)}
    expected = Counter()
    for v in books.valid_vouchers:
        if v.is_opening:
            continue
        fy = int(books.fiscal_year_of(v.date).key)
        for line in v.lines:
            if line.account < "3":
                continue
            for type_id, (dim, items) in ids.items():
                entries = [(code, amount) for t, code, amount in line.dimension_amounts() if t == type_id]
                for code, amount in entries:
                    expected[(fy, dim, items[code])] -= amount
                rest = line.amount - sum((a for _, a in entries), Decimal(0))
                if rest or not entries:
                    expected[(fy, dim, "unallocated")] -= rest
    got = {
        (fy, dim, item): amount
        for fy, dim, item, amount in warehouse.execute(
            "select fiscal_year, dimension_type, item_code, sum(amount) from marts.rpt_pl_by_dimension "
            "where company_id = 'eira' and report_line_code = 'PL_NET_RESULT' group by all"
        ).fetchall()
    }
    assert {k: v for k, v in got.items() if v} == {k: v for k, v in expected.items() if v}


def test_each_fiscal_years_read_cost_at_most_its_pages_plus_one_call_per_200_receipts(pipeline):
    import math

    import dagster as dg
    import pyarrow.parquet as pq

    lake = pipeline["settings"].lake_root / "raw/procountor/ledger/company=eira"
    instance = pipeline["instance"]
    key = dg.AssetKey(["raw", "procountor", "ledger"])
    checked = 0
    for part in sorted(lake.glob("fiscal_year=*/part-0.parquet")):
        fiscal_year = part.parent.name.split("=")[1]
        rows = pq.read_table(part, columns=["receipt_id", "is_official"]).to_pylist()
        listed = len({r["receipt_id"] for r in rows})
        booked = len({r["receipt_id"] for r in rows if r["is_official"]})
        partition = dg.MultiPartitionKey({"company": "eira", "fiscal_year": fiscal_year})
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, asset_partitions=[partition]), limit=1
        ).records
        # the run read several partitions: each partition's materialization carries its own requests
        metadata = records[0].asset_materialization.metadata
        requests = metadata["requests"].value
        assert metadata["dagster/row_count"].value == len(rows), fiscal_year
        assert 0 < requests <= math.ceil(listed / 200) + math.ceil(booked / 200) + 5, (fiscal_year, requests)
        checked += 1
    assert checked == 4
