"""A source that suddenly answers "no fiscal years" loses nothing: the assets fail by name, every stored
partition and the published marts stay as they were, and only an explicit run tag accepts the change."""

import hashlib

import dagster as dg
import duckdb
import httpx
import pytest
import yaml

from assets.lake import ACCEPT_TAG, TRASH
from connectors.settings import load_settings
from orchestration.definitions import build_pipeline
from orchestration.runner import materialize_all, range_tags
from tests.conftest import write_companies
from tests.e2e.conftest import last_build_full_parse_reasons

pytestmark = pytest.mark.e2e


def digests(root) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*.parquet"))
    }


def gl_rows(db) -> dict[str, int]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return dict(con.execute("select company_id, count(*) from marts.fct_gl_entries group by all").fetchall())
    finally:
        con.close()


@pytest.fixture
def aurora(tmp_path, simulator_url):
    path = write_companies(tmp_path / "companies.yaml", simulator_url, first_year=2025, last_year=2026)
    config = yaml.safe_load(path.read_text())
    config["companies"] = [{**c, "bank_connections": []} for c in config["companies"] if c["id"] == "aurora"]
    path.write_text(yaml.safe_dump(config))
    settings = load_settings({"NORDLEDGER_COMPANIES_FILE": str(path), "NORDLEDGER_DATA_DIR": str(tmp_path / "data")})
    pipeline = build_pipeline(settings)
    with dg.DagsterInstance.ephemeral() as instance:
        assert all(r.success for r in materialize_all(pipeline, instance, log=lambda *_: None))
        yield pipeline, instance
    httpx.delete(f"{simulator_url}/_sim/tamper")


def test_no_fiscal_years_from_the_erp_deletes_nothing_and_publishes_nothing_new(aurora, simulator_url):
    pipeline, instance = aurora
    settings = pipeline.settings
    lake_before, published_before = digests(settings.lake_root), gl_rows(settings.published_db)
    assert published_before["aurora"] > 1000
    # the runner had dbt parse while the ERPs were read, so even this deployment's first build parsed partially
    assert last_build_full_parse_reasons(settings) == []

    httpx.post(f"{simulator_url}/_sim/tamper", json={"api": "fennoa", "company": "aurora", "kind": "no_periods"})
    results = materialize_all(pipeline, instance, log=lambda *_: None)
    reference, fiscal, warehouse = results
    assert (reference.success, fiscal.success) == (False, False)
    messages = [e.event_specific_data.error.message for r in results for e in r.all_events if e.is_step_failure]
    assert any(
        "company 'aurora', endpoint 'periods': volume guard: 3 rows are stored but the ERP answered 0 rows" in m
        for m in messages
    ), messages
    assert any(
        "company 'aurora' fiscal year 2025, endpoint 'ledger': volume guard:" in m
        and "no longer has this fiscal year" in m
        and f"{ACCEPT_TAG}=aurora|2025" in m
        for m in messages
    ), messages
    # aurora's partitions are exactly as they were
    assert digests(settings.lake_root) == lake_before
    assert not (settings.lake_root / TRASH).exists()
    assert warehouse.success and gl_rows(settings.published_db) == published_before

    # the change is accepted explicitly: the partitions go to the trash, and the warehouse check holds
    # the publish until the warehouse run accepts it too
    job = pipeline.defs.resolve_job_def("fennoa_fiscal_year_job")
    tags = {**range_tags(job.partitions_def), ACCEPT_TAG: "aurora"}
    assert job.execute_in_process(instance=instance, tags=tags).success
    assert not list((settings.lake_root / "raw/fennoa/ledger/company=aurora").rglob("*.parquet"))
    assert len(list((settings.lake_root / TRASH).rglob("*.parquet"))) >= 3
    held = pipeline.defs.resolve_job_def("warehouse_job").execute_in_process(instance=instance, raise_on_error=False)
    assert last_build_full_parse_reasons(settings) == []  # same companies and paths: dbt reused its last parse
    guard = {e.check_name: e for e in held.get_asset_check_evaluations()}["gl_volume_guard"]
    assert not guard.passed and "company 'aurora': the published general ledger has" in guard.description
    assert gl_rows(settings.published_db) == published_before
    accepted = pipeline.defs.resolve_job_def("warehouse_job").execute_in_process(
        instance=instance, tags={ACCEPT_TAG: "aurora"}
    )
    assert accepted.success
    assert "aurora" not in gl_rows(settings.published_db)
