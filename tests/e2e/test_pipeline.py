"""End to end: the real definitions against the simulator over loopback HTTP."""

import hashlib
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb
import pyarrow.parquet as pq
import pytest

from connectors.procountor import UNBOOKED_STATUSES
from orchestration.definitions import build_definitions
from orchestration.demo import statements_report
from orchestration.runner import range_tags
from tests.e2e.conftest import last_build_full_parse_reasons

pytestmark = pytest.mark.e2e


def _digests(lake: Path) -> dict[str, str]:
    return {
        str(p.relative_to(lake)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(lake.rglob("*.parquet"))
    }


def test_every_job_succeeds_in_one_run_each(pipeline):
    # reference + fiscal-year extract per ERP (3 ERPs), bank accounts and transactions, then the
    # warehouse: 9 runs for 5 companies, 2 bank connections and 16 company x fiscal-year partitions
    assert [r.success for r in pipeline["results"]] == [True] * 9
    assert pipeline["runs"] == 9


def test_a_run_over_every_partition_plans_each_asset_once_with_all_its_partitions(pipeline):
    """orchestration/dagster_env.py: one planned event per asset, not one per asset and partition."""
    instance = pipeline["instance"]
    [run] = instance.get_runs(dg.RunsFilter(job_name="fennoa_fiscal_year_job"))
    planned = [
        e.dagster_event.event_specific_data
        for e in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED)
    ]
    job = pipeline["defs"].resolve_job_def("fennoa_fiscal_year_job")
    keys = set(job.partitions_def.get_partition_keys())
    assert len(keys) > 3  # companies x fiscal years
    assert sorted(p.asset_key.path[-1] for p in planned) == ["account_balances", "ledger", "opening_balances"]
    assert all(p.partition is None and set(p.partitions_subset.get_partition_keys()) == keys for p in planned)


def test_the_readmes_duckdb_shell_opens_the_published_warehouse_read_only(pipeline):
    shell = Path(sys.executable).parent / "duckdb"
    db = str(pipeline["settings"].published_db)
    out = subprocess.run(
        [str(shell), "-readonly", "-csv", db, "select count(*) from marts.dim_company"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    assert out.split() == ["count_star()", "5"]
    refused = subprocess.run(
        [str(shell), "-readonly", db, "create table marts.x as select 1"], capture_output=True, text=True, timeout=60
    )
    assert refused.returncode != 0 and "read-only" in (refused.stdout + refused.stderr).lower()


def test_backfill_writes_one_directory_per_partition_that_exists_in_the_erp(pipeline):
    lake = pipeline["settings"].lake_root
    ledger = sorted(
        str(p.parent.relative_to(lake / "raw/fennoa/ledger"))
        for p in (lake / "raw/fennoa/ledger").rglob("part-0.parquet")
    )
    assert ledger == [
        "company=aurora/fiscal_year=2024",
        "company=aurora/fiscal_year=2025",
        "company=aurora/fiscal_year=2026",
        "company=borealis/fiscal_year=2024",
        "company=borealis/fiscal_year=2025",
        "company=borealis/fiscal_year=2026",
        "company=borealis/fiscal_year=2027",
        "company=cirrus/fiscal_year=2025",
        "company=cirrus/fiscal_year=2026",
    ]
    accounts = sorted(p.parent.name for p in (lake / "raw/fennoa/accounts").rglob("part-0.parquet"))
    assert accounts == ["company=aurora", "company=borealis", "company=cirrus"]
    netvisor = sorted(p.parent.name for p in (lake / "raw/netvisor/ledger/company=dahlia").rglob("part-0.parquet"))
    assert netvisor == ["fiscal_year=2024", "fiscal_year=2025", "fiscal_year=2026"]
    procountor = sorted(p.parent.name for p in (lake / "raw/procountor/ledger/company=eira").rglob("part-0.parquet"))
    assert procountor == ["fiscal_year=2024", "fiscal_year=2025", "fiscal_year=2026", "fiscal_year=2027"]
    assert not list(lake.rglob(".tmp-*"))


def test_each_partition_is_materialized_with_its_own_rows_and_fiscal_year_dates(pipeline):
    instance, lake = pipeline["instance"], pipeline["settings"].lake_root
    key = dg.AssetKey(["raw", "fennoa", "ledger"])
    # one run over 3 companies x 4 fiscal-year keys; only the 9 the companies have are materialized
    materialized = sorted(str(k) for k in instance.get_materialized_partitions(key))
    on_disk = sorted(
        f"{p.parent.parent.name.split('=')[1]}|{p.parent.name.split('=')[1]}"
        for p in (lake / "raw/fennoa/ledger").rglob("part-0.parquet")
    )
    assert len(on_disk) == 9 and materialized == on_disk
    counts = set()
    for partition in on_disk:
        company, fiscal_year = partition.split("|")
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(
                asset_key=key,
                asset_partitions=[dg.MultiPartitionKey({"company": company, "fiscal_year": fiscal_year})],
            ),
            limit=1,
        ).records
        metadata = records[0].asset_materialization.metadata
        path = lake / f"raw/fennoa/ledger/company={company}/fiscal_year={fiscal_year}/part-0.parquet"
        assert metadata["dagster/row_count"].value == pq.read_metadata(path).num_rows > 0, partition
        counts.add(metadata["dagster/row_count"].value)
        if partition == "cirrus|2025":  # the 18-month first fiscal year
            assert (metadata["fiscal_year_start"].value, metadata["fiscal_year_end"].value) == (
                "2024-07-01",
                "2025-12-31",
            )
    assert len(counts) > 1  # not one run total stamped on every partition


def test_every_mart_materialization_carries_its_row_count(pipeline):
    instance, settings = pipeline["instance"], pipeline["settings"]
    con = duckdb.connect(str(settings.published_db), read_only=True)
    try:
        names = [
            r[0] for r in con.execute("select table_name from duckdb_tables() where schema_name = 'marts'").fetchall()
        ]
        exact = {name: con.execute(f'select count(*) from marts."{name}"').fetchall()[0][0] for name in names}
    finally:
        con.close()
    assert len(exact) >= 13 and exact["fct_gl_entries"] > 10_000
    for name, rows in exact.items():
        event = instance.get_latest_materialization_event(dg.AssetKey(["marts", name]))
        assert event.asset_materialization.metadata["dagster/row_count"].value == rows, name


def test_nothing_the_pipeline_writes_is_readable_by_other_users(pipeline):
    data = pipeline["settings"].lake_root.parent
    written = [p for p in data.rglob("*") if not p.is_symlink()]
    assert len(written) > 50
    readable = [str(p.relative_to(data)) for p in written if p.stat().st_mode & 0o007]
    assert readable == []
    assert (data / "secrets").stat().st_mode & 0o077 == 0


def test_rerunning_the_extracts_leaves_the_same_files(pipeline):
    lake, defs = pipeline["settings"].lake_root, pipeline["defs"]
    before = _digests(lake)
    for name in ("fennoa_reference_job", "fennoa_fiscal_year_job", "netvisor_fiscal_year_job"):  # before any rebuild
        job = defs.resolve_job_def(name)
        assert job.execute_in_process(instance=pipeline["instance"], tags=range_tags(job.partitions_def)).success
    assert _digests(lake) == before


ACCOUNTING_CHECKS = {
    "assert_vouchers_balance",
    "assert_gl_matches_raw_lake",
    "assert_trial_balance_nets_to_zero",
    "assert_balance_sheet_balances",
    "assert_pl_result_equals_bs_result",
    "assert_closing_equals_next_opening",
    "assert_accounts_map_to_exactly_one_line",
    "assert_fiscal_years_contiguous",
    "assert_dimension_split_sums_to_pl",
    "assert_reconciles_to_erp",
    "assert_statement_arithmetic",
    "assert_opening_vouchers_hold_no_pl_accounts",
    "assert_leaf_ranges_do_not_overlap",
    "assert_accounts_exist_in_chart",
    "assert_entries_within_their_fiscal_year",
    "assert_voucher_lines_unique",
}


def test_every_accounting_check_ran_and_passed(pipeline):
    evaluations = {e.check_name: e.passed for e in pipeline["results"][-1].get_asset_check_evaluations()}
    assert set(evaluations) >= ACCOUNTING_CHECKS
    assert all(evaluations.values()), {k: v for k, v in evaluations.items() if not v}


def test_statements_balance_and_tie_to_the_erp_for_every_company_and_month(pipeline):
    con = duckdb.connect(str(pipeline["settings"].published_db), read_only=True)
    unbalanced = con.execute("""
        select company_id, month_end from marts.rpt_balance_sheet group by all
        having max(amount) filter (where report_line_code = 'BS_ASSETS_TOTAL')
            <> max(amount) filter (where report_line_code = 'BS_EQUITY_AND_LIABILITIES_TOTAL')""").fetchall()
    assert unbalanced == []
    months = con.execute("select count(distinct (company_id, month_end)) from marts.rpt_balance_sheet").fetchone()[0]
    assert months >= 5 * 24
    mismatched = con.execute("""
        select count(*) from marts.rpt_profit_and_loss as p join marts.rpt_balance_sheet as b
            on b.company_id = p.company_id and b.month_end = p.month_end and b.report_line_code = 'BS_CURRENT_YEAR_RESULT'
        where p.report_line_code = 'PL_NET_RESULT' and p.amount_ytd <> b.amount""").fetchone()[0]
    assert mismatched == 0
    reconciled = con.execute(
        "select count(*), count(*) filter (where difference <> 0) from marts.rpt_balance_reconciliation "
        "where erp_reported"
    ).fetchone()
    assert reconciled[0] >= 5 * 25 * 3 and reconciled[1] == 0
    unmapped = con.execute(
        "select count(*) from marts.dim_account where account_number in "
        "(select account_number from marts.fct_gl_entries) and report_line_code is null"
    ).fetchone()[0]
    assert unmapped == 0
    assert con.execute(
        "select distinct schema_variant from marts.rpt_profit_and_loss where company_id = 'borealis'"
    ).fetchall() == [("PMA",)]
    assert (
        con.execute(
            "select count(*) from marts.rpt_profit_and_loss where company_id = 'borealis' "
            "and report_line_code = 'PL_TAXES'"
        ).fetchone()[0]
        > 0
    )


def test_published_gl_totals_equal_raw_parquet_per_company_and_fiscal_year(pipeline):
    settings = pipeline["settings"]
    raw: dict[tuple, Decimal] = {}
    for endpoint in ("ledger", "opening_balances"):
        for path in (settings.lake_root / "raw/fennoa" / endpoint).rglob("part-0.parquet"):
            for row in pq.read_table(path, columns=["company_id", "fiscal_year", "debit"]).to_pylist():
                key = (row["company_id"], row["fiscal_year"])
                raw[key] = raw.get(key, Decimal(0)) + row["debit"]
    con = duckdb.connect(str(settings.published_db), read_only=True)
    gl = {
        (c, fy): d
        for c, fy, d in con.execute(
            "select company_id, fiscal_year, sum(debit) from marts.fct_gl_entries where source_system = 'fennoa' "
            "group by all"
        ).fetchall()
    }
    assert gl == raw and len(gl) == 9


def test_published_profit_and_loss_has_revenue_and_result_for_every_company(pipeline):
    con = duckdb.connect(str(pipeline["settings"].published_db), read_only=True)
    rows = con.execute("""
        select company_id, fiscal_year,
               sum(amount_month) filter (where report_line_code = 'PL_REVENUE'),
               sum(amount_month) filter (where report_line_code = 'PL_NET_RESULT'),
               sum(amount_month) filter (where line_type = 'line')
        from marts.rpt_profit_and_loss group by all order by all""").fetchall()
    assert {r[0] for r in rows} == {"aurora", "borealis", "cirrus", "dahlia", "eira"}
    for company, fy, revenue, net, leaves in rows:
        assert revenue > 0, (company, fy)
        assert net != 0 and net == leaves  # the net result is the sum of the leaf lines
    report = statements_report(pipeline["settings"].published_db)
    assert "Aurora Analytics Oy" in report and "Profit (loss) for the financial year" in report


def test_wrong_credentials_fail_the_run_with_the_company_named(pipeline, monkeypatch):
    monkeypatch.setenv("CIRRUS_FENNOA_API_KEY", "not-the-key")
    job = pipeline["defs"].resolve_job_def("fennoa_reference_job")
    with dg.DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(instance=instance, partition_key="cirrus", raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    message = failure.event_specific_data.error.message
    assert "fennoa company 'cirrus'" in message and "authentication failed" in message
    assert "not-the-key" not in message


def test_netvisor_deleted_and_invalidated_are_captured_with_status_and_kept_out_of_the_gl(pipeline):
    settings = pipeline["settings"]
    raw = pq.read_table(settings.lake_root / "raw/netvisor/ledger", partitioning=None).to_pylist()
    by_status = {(r["voucher_status"], r["line_status"]) for r in raw}
    assert {("deleted", "deleted"), ("invalidated", "invalidated"), ("valid", "invalidated")} <= by_status
    dropped_vouchers = {r["voucher_key"] for r in raw if r["voucher_status"] != "valid"}
    dropped_lines = {
        (r["voucher_key"], r["line_number"])
        for r in raw
        if r["voucher_status"] == "valid" and r["line_status"] != "valid"
    }
    con = duckdb.connect(str(settings.published_db), read_only=True)
    gl = con.execute("select voucher_id, line_number from marts.fct_gl_entries where company_id = 'dahlia'").fetchall()
    assert gl and not dropped_vouchers & {v for v, _ in gl}
    assert not dropped_lines & set(gl)
    edited = {v for v, _ in dropped_lines}
    assert edited & {v for v, _ in gl}  # the edited voucher itself stays, with its valid lines only


def test_procountor_receipts_that_are_not_official_never_reach_the_gl(pipeline):
    settings = pipeline["settings"]
    raw = pq.read_table(settings.lake_root / "raw/procountor/ledger", partitioning=None).to_pylist()
    excluded = {r["receipt_id"]: r["exclusion_reason"] for r in raw if not r["is_official"]}
    assert set(excluded.values()) == set(UNBOOKED_STATUSES.values()) - {UNBOOKED_STATUSES["INVOICED"]} | {
        "order, not an official business transaction"
    }
    con = duckdb.connect(str(settings.published_db), read_only=True)
    gl = {
        r[0]
        for r in con.execute(
            "select distinct voucher_id from marts.fct_gl_entries where company_id = 'eira'"
        ).fetchall()
    }
    assert gl and not gl & set(excluded)


BI_READER = """
import sys, duckdb, sqlalchemy
path = sys.argv[1]
plain = duckdb.connect(path, read_only=True)          # e.g. Evidence, the DuckDB CLI
print(plain.execute("select company_name from marts.dim_company where company_id = 'aurora'").fetchone()[0], flush=True)
sys.stdin.readline()                                   # hold both open while the pipeline rebuilds
print(plain.execute("select company_name from marts.dim_company where company_id = 'aurora'").fetchone()[0], flush=True)
print(plain.execute("select count(*) from marts.fct_gl_entries").fetchone()[0] > 0, flush=True)
plain.close()
engine = sqlalchemy.create_engine(f"duckdb:///{path}", connect_args={"read_only": True})  # as Superset does
with engine.connect() as sa:
    print(sa.execute(sqlalchemy.text("select company_name from marts.dim_company where company_id = 'aurora'")).scalar(), flush=True)
"""

BI_READER_SQLALCHEMY = """
import sys, sqlalchemy
engine = sqlalchemy.create_engine(f"duckdb:///{sys.argv[1]}", connect_args={"read_only": True},
                                  poolclass=sqlalchemy.pool.NullPool)
with engine.connect() as sa:
    q = sqlalchemy.text("select company_name from marts.dim_company where company_id = 'aurora'")
    print(sa.execute(q).scalar(), flush=True)
    sys.stdin.readline()
    print(sa.execute(q).scalar(), flush=True)
with engine.connect() as sa:
    print(sa.execute(q).scalar(), flush=True)
"""


def test_bi_readers_holding_the_published_file_survive_a_rebuild(pipeline):
    import subprocess
    import sys

    import yaml

    settings = pipeline["settings"]
    readers = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(settings.published_db)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for script in (BI_READER, BI_READER_SQLALCHEMY)
    ]
    try:
        before = [r.stdout.readline().strip() for r in readers]
        assert before == ["Aurora Analytics Oy", "Aurora Analytics Oy"]
        # change something visible (the company's name in companies.yaml) and rebuild the whole warehouse
        config = yaml.safe_load(settings.companies_file.read_text())
        config["companies"][0]["name"] = "Aurora Analytics Oyj"
        settings.companies_file.write_text(yaml.safe_dump(config))
        rebuilt = (
            build_definitions(settings)
            .resolve_job_def("warehouse_job")
            .execute_in_process(instance=pipeline["instance"])
        )
        assert rebuilt.success
        # the companies are data, not dbt vars: a changed one leaves dbt's parse to reuse
        assert last_build_full_parse_reasons(settings) == []
        outputs = [r.communicate("go\n", timeout=60) for r in readers]
    finally:
        for r in readers:
            r.kill()
    plain, sa = (out.split() if not err.strip() else pytest.fail(err) for out, err in outputs)
    # the open connections kept a consistent view through the rebuild; new connections see the new data
    assert " ".join(plain) == "Aurora Analytics Oy True Aurora Analytics Oyj"
    assert " ".join(sa) == "Aurora Analytics Oy Aurora Analytics Oyj"
