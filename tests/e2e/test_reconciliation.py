"""The reconciliation check fails for every ERP when the ERP reported no balances for a fiscal year that
has ledger activity, instead of passing on nothing to compare.

Cheap on purpose: the session pipeline has already extracted everything. Its lake is copied once, one
fiscal year's account_balances partition per ERP is replaced by an empty Parquet file of the same
schema, and the real dbt project is built once over the copy, as the warehouse asset builds it (same
vars, its own build file); each ERP's test then reads the failing rows dbt stored for the check.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from assets.transform import FILE_LOG, dbt_executable, prepare_dbt_build, stored_failures
from connectors import registry
from connectors.companies import load_companies
from connectors.settings import DBT_PROJECT_DIR

pytestmark = pytest.mark.e2e

CHECK = "assert_reconciles_to_erp"


def balances_partition(lake: Path, erp: str, company: str, fiscal_year: int) -> Path:
    return (
        lake / "raw" / erp / "account_balances" / f"company={company}" / f"fiscal_year={fiscal_year}" / "part-0.parquet"
    )


def spoiled_year(pipeline, erp: str) -> tuple[str, int]:
    """The first company of the ERP and its first fiscal year with ledger lines and a reported-balances file."""
    settings = pipeline["settings"]
    con = duckdb.connect(str(settings.published_db), read_only=True)
    try:
        years = con.execute(
            "select company_id, fiscal_year from marts.fct_gl_entries where source_system = ? "
            "group by all order by all",
            [erp],
        ).fetchall()
    finally:
        con.close()
    for company, fiscal_year in years:
        if balances_partition(settings.lake_root, erp, company, fiscal_year).exists():
            return company, fiscal_year
    raise AssertionError(f"the demo has no {erp} company with ledger lines and reported balances: {years}")


@pytest.fixture(scope="module")
def spoiled(pipeline, tmp_path_factory):
    """dbt built over a copy of the lake in which each ERP lost one fiscal year's reported balances."""
    settings = pipeline["settings"]
    check = {e.check_name: e for e in pipeline["results"][-1].get_asset_check_evaluations()}[CHECK]
    if not check.passed:  # nothing to spoil: the books do not reconcile even with every balance reported
        pytest.fail(f"the pipeline's own warehouse run already fails {CHECK}: {check.metadata.get('problems')}")
    tmp = tmp_path_factory.mktemp("reconciliation")
    copy = dataclasses.replace(settings, lake_root=tmp / "lake", warehouse_dir=tmp / "warehouse")
    shutil.copytree(settings.lake_root / "raw", copy.lake_root / "raw")
    copy.warehouse_dir.mkdir()
    emptied = {erp: spoiled_year(pipeline, erp) for erp in registry.erp_names()}
    for erp, (company, fiscal_year) in emptied.items():
        path = balances_partition(copy.lake_root, erp, company, fiscal_year)
        schema = pq.read_schema(path)
        assert pq.read_metadata(path).num_rows > 0, path
        path.unlink()  # a new file, never a write through to the pipeline's own
        pq.write_table(schema.empty_table(), path)

    config = load_companies(settings.companies_file, require_env=False)
    target = tmp / "target"
    build = subprocess.run(
        [dbt_executable(), "build", "--full-refresh", *FILE_LOG, "--vars", prepare_dbt_build(config, copy),
         "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
         "--target", settings.dbt_target, "--target-path", str(target), "--log-path", str(tmp / "logs")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    results = json.loads((target / "run_results.json").read_text())["results"]
    statuses = {r["unique_id"].split(".")[-1]: r["status"] for r in results}
    return {
        "build": build,
        "statuses": statuses,
        "emptied": emptied,
        "problems": stored_failures(copy.build_db, CHECK, limit=10_000),
    }


@pytest.mark.parametrize("erp", registry.erp_names())
def test_the_check_fails_when_the_erp_reported_no_balances_for_a_year_with_activity(pipeline, spoiled, erp):
    # with every balance the ERP reported (the pipeline's own warehouse run) the check passed
    evaluations = {e.check_name: e.passed for e in pipeline["results"][-1].get_asset_check_evaluations()}
    assert evaluations[CHECK]
    company, fiscal_year = spoiled["emptied"][erp]
    missing = f"company {company} ({erp}): the ERP reported no balances for fiscal year {fiscal_year}, which has "
    problems = spoiled["problems"]
    assert any(p.startswith(missing) for p in problems), problems
    # only that year of that company: the ERP's other years, and its other companies, still reconcile
    assert [p for p in problems if f"({erp})" in p] == [p for p in problems if p.startswith(missing)]
    assert not [p for p in problems if p.startswith(f"company {company}, account ")], problems


def test_only_the_reconciliation_check_fails_and_it_blocks_the_build(spoiled):
    assert spoiled["build"].returncode != 0
    failing = {name: status for name, status in spoiled["statuses"].items() if status not in ("success", "pass")}
    assert failing == {CHECK: "fail"}, failing
    assert len(spoiled["problems"]) == len(spoiled["emptied"]), spoiled["problems"]
