"""Optional API resources: declared per endpoint in the spec, recorded by the client that had to do
without one, reported by the (generic) extract asset in its metadata and log; and a fiscal year
whose lock state is unknown is refreshed by the schedules as an open one."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import date

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from assets.lake import partition_dir, write_partition
from connectors import fennoa, registry, schemas
from connectors.companies import load_companies
from connectors.settings import load_settings
from connectors.spec import ErpSpec, degradations
from orchestration.definitions import build_pipeline
from orchestration.refresh import open_fiscal_year_keys
from simulator.catalogue import as_of, books_for, demo_tenants
from simulator.fennoa import FennoaSimulator
from simulator.server import serve_in_thread
from tests.conftest import ROOT

AURORA = next(t for t in demo_tenants() if t.profile.key == "aurora")  # fiscal years 2024-2026, locked to 2025
LOST = fennoa.OPTIONAL_RESOURCES[fennoa.LOCKING_PERIODS]


def test_each_erp_declares_its_optional_resources_per_endpoint():
    declared = {
        (spec.name, e.name): dict(e.optional_resources)
        for spec in map(registry.erp, registry.erp_names())
        for e in spec.endpoints
    }
    assert declared.pop(("fennoa", "periods")) == {"accounting_api/get/locking_periods": LOST}
    assert all(not resources for resources in declared.values())  # every other resource is required
    assert "is_locked is null" in LOST


def test_a_client_without_optional_resources_has_nothing_to_report():
    assert degradations(object()) == ()


# -- through the extract assets: the Fennoa endpoints under another name, on a server with or without locks --

LIKE_ENDPOINTS = {e.name: e for e in fennoa.SPEC.endpoints}
LIKE = ErpSpec(
    name="fennoalike",
    title="Fennoa-like",
    credentials=fennoa.SPEC.credentials,
    default_base_url="http://127.0.0.1:9",
    build_client=fennoa.SPEC.build_client,
    endpoints=tuple(replace(LIKE_ENDPOINTS[n], source="fennoalike") for n in ("accounts", "periods", "ledger")),
)


@pytest.fixture(scope="module")
def lockless_url():
    with serve_in_thread(app=FennoaSimulator(demo_tenants(), locking_periods=False).app()) as url:
        yield url


def _pipeline(tmp_path, monkeypatch, base_url: str):
    companies = {
        "fiscal_years": {"first": 2024, "last": 2026},
        "companies": [
            {
                "id": "aurora",
                "name": AURORA.profile.name,
                "business_id": AURORA.profile.business_id,
                "erp": "fennoalike",
                "credentials": {"username": "LIKE_USER", "api_key": "LIKE_KEY"},
                "base_url": base_url,
            }
        ],
    }
    (tmp_path / "companies.yaml").write_text(yaml.safe_dump(companies))
    monkeypatch.setenv("LIKE_USER", AURORA.credentials["username"])
    monkeypatch.setenv("LIKE_KEY", AURORA.credentials["api_key"])
    settings = load_settings(
        {"NORDLEDGER_COMPANIES_FILE": str(tmp_path / "companies.yaml"), "NORDLEDGER_DATA_DIR": str(tmp_path / "data")}
    )
    return settings, build_pipeline(settings)


def _run(pipeline, instance) -> list[str]:
    """Reference data for aurora and its 2026 ledger; returns the run logs' warnings."""
    warnings = []
    for name, key in (("fennoalike_reference_job", "aurora"), ("fennoalike_fiscal_year_job", "aurora|2026")):
        job = pipeline.defs.resolve_job_def(name)
        partition = job.partitions_def.get_partition_key_from_str(key) if "|" in key else key
        result = job.execute_in_process(instance=instance, partition_key=partition)
        assert result.success
        warnings += [e.user_message for e in instance.all_logs(result.run_id) if e.level == logging.WARNING]
    return warnings


def _metadata(instance, name: str) -> dict:
    event = instance.get_latest_materialization_event(dg.AssetKey(["raw", "fennoalike", name]))
    return {k: getattr(v, "value", v) for k, v in event.asset_materialization.metadata.items()}


def _ledger_lines_2026() -> int:
    books = books_for(AURORA.profile, as_of())
    return sum(len(v.lines) for v in books.valid_vouchers if not v.is_opening and v.date.year == 2026)


def test_without_locking_periods_the_company_is_read_in_full_and_the_run_says_what_is_unknown(
    tmp_path, monkeypatch, lockless_url
):
    with registry.registered(LIKE):
        settings, pipeline = _pipeline(tmp_path, monkeypatch, lockless_url)
        with dg.DagsterInstance.ephemeral() as instance:
            warnings = _run(pipeline, instance)
            periods, accounts, ledger = (_metadata(instance, n) for n in ("periods", "accounts", "ledger"))
        config = load_companies(settings.companies_file, require_env=False)
        open_keys = open_fiscal_year_keys(settings, config, config.by_id["aurora"])
    expected = (
        f"accounting_api/get/locking_periods unavailable (HTTP 404: the server has no such resource); lost: {LOST}"
    )
    assert periods["degraded"] == expected
    assert warnings == [f"fennoalike/periods company 'aurora' read without an optional resource: {expected}"]
    # the ledger asked for the lock dates too (with the fiscal years' dates), but its rows lack nothing
    assert "degraded" not in accounts and "degraded" not in ledger
    assert ledger["dagster/row_count"] == _ledger_lines_2026()
    table = pq.read_table(settings.lake_root / "raw/fennoalike/periods/company=aurora/part-0.parquet")
    assert table.column("fiscal_year").to_pylist() == [2024, 2025, 2026]
    assert table.column("is_locked").to_pylist() == [None, None, None]  # unknown, not open, not closed
    assert open_keys == ["2024", "2025", "2026"]  # the schedules refresh an unknown lock as open


def test_with_locking_periods_nothing_is_degraded_and_only_the_open_year_is_refreshed(
    tmp_path, monkeypatch, fennoa_url
):
    with registry.registered(LIKE):
        settings, pipeline = _pipeline(tmp_path, monkeypatch, fennoa_url)
        with dg.DagsterInstance.ephemeral() as instance:
            assert _run(pipeline, instance) == []
            assert all("degraded" not in _metadata(instance, n) for n in ("periods", "accounts", "ledger"))
        config = load_companies(settings.companies_file, require_env=False)
        open_keys = open_fiscal_year_keys(settings, config, config.by_id["aurora"])
    table = pq.read_table(settings.lake_root / "raw/fennoalike/periods/company=aurora/part-0.parquet")
    assert table.column("is_locked").to_pylist() == [True, True, False]
    assert open_keys == ["2026"]


def test_an_unknown_lock_is_open_to_the_schedules(tmp_path):
    settings = load_settings({"NORDLEDGER_DATA_DIR": str(tmp_path)})
    config = load_companies(ROOT / "companies.yaml", require_env=False)
    rows = [
        {"company_id": "aurora", "period_id": f"p{y}", "start_date": date(y, 1, 1), "end_date": date(y, 12, 31),
         "fiscal_year": y, "is_locked": locked}
        for y, locked in ((2024, True), (2025, None), (2026, False))
    ]  # fmt: skip
    directory = partition_dir(settings.lake_root, "fennoa", "periods", "aurora", None)
    write_partition(directory, schemas.periods(), [pa.RecordBatch.from_pylist(rows, schema=schemas.periods())])
    assert open_fiscal_year_keys(settings, config, config.by_id["aurora"]) == ["2025", "2026"]
