"""Nightly refresh of an open Procountor fiscal year: only changed receipts are fetched in detail, and
the partition it leaves is the one a full re-read gives."""

import math
from datetime import timedelta

import dagster as dg
import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from assets.extract.incremental import INCREMENTAL, REFRESH_TAG, plan
from connectors.fiscal import FiscalPeriod
from connectors.procountor import SCHEMAS, receipt_rule
from connectors.spec import Incremental
from simulator.catalogue import as_of, demo_tenants
from simulator.server import build_app, serve_in_thread
from tests.e2e.test_reliability import subset_companies

pytestmark = pytest.mark.e2e

PARTITION = dg.MultiPartitionKey({"company": "eira", "fiscal_year": "2026"})
PART = "raw/procountor/ledger/company=eira/fiscal_year=2026/part-0.parquet"


@pytest.fixture
def eira(tmp_path, monkeypatch):
    """Eira (Procountor) alone, on a simulator of its own: the test changes its books."""
    from connectors.settings import load_settings
    from orchestration.definitions import build_definitions

    app = build_app(tenants=[t for t in demo_tenants() if t.profile.key == "eira"])
    with serve_in_thread(app=app) as url, dg.DagsterInstance.ephemeral() as instance:
        monkeypatch.setenv(
            "NORDLEDGER_COMPANIES_FILE", str(subset_companies(tmp_path / "companies.yaml", url, {"eira"}))
        )
        monkeypatch.setenv("NORDLEDGER_DATA_DIR", str(tmp_path / "data"))
        settings = load_settings()
        defs = build_definitions(settings)
        assert (
            defs.resolve_job_def("procountor_reference_job")
            .execute_in_process(instance=instance, partition_key="eira")
            .success
        )
        yield {
            "url": url,
            "sim": app.state.simulators["procountor"],
            "defs": defs,
            "instance": instance,
            "part": settings.lake_root / PART,
        }


def refresh(eira, **tags) -> tuple[pa.Table, tuple[int, int], dict]:
    """Run the fiscal-year job for eira 2026: the ledger partition, (receipts read in detail, detail
    calls), the ledger's metadata."""
    sim = eira["sim"]
    before = sim.detail_receipts, sim.detail_calls
    result = (
        eira["defs"]
        .resolve_job_def("procountor_fiscal_year_job")
        .execute_in_process(instance=eira["instance"], partition_key=PARTITION, tags=tags)
    )
    assert result.success
    metadata = next(m.metadata for m in result.asset_materializations_for_node("raw__procountor__ledger"))
    return pq.read_table(eira["part"]), (sim.detail_receipts - before[0], sim.detail_calls - before[1]), metadata


def rows(table: pa.Table) -> list[dict]:
    return sorted(table.to_pylist(), key=lambda r: (r["receipt_id"], r["line_number"] or 0))


def official(receipts, start, end) -> list:
    return [
        r
        for r in receipts
        if start <= r.voucher.date <= end and receipt_rule.reason_excluded({"type": r.type, "status": r.status}) is None
    ]


def batches(receipts: int) -> tuple[int, int]:
    return receipts, math.ceil(receipts / 200)


def test_a_nightly_refresh_fetches_only_changed_receipts_and_equals_a_full_read(eira):
    first, first_calls, _ = refresh(eira)
    company = eira["sim"].for_tenant("eira")
    fy = next(f for f in company.books.fiscal_years if f.key == "2026")
    assert first_calls == batches(len(official(company.receipts, fy.start, fy.end)))
    assert first_calls[0] > 100

    changed = httpx.post(
        f"{eira['url']}/_sim/change",
        json={
            "company": "eira",
            "fiscal_year": "2026",
            "share": 0.05,
            "version": f"{as_of() + timedelta(days=1)}T03:00:00",
        },
    ).json()
    assert changed["edited"] >= 2 and changed["added"] >= 2

    merged, calls, metadata = refresh(eira, **{REFRESH_TAG: INCREMENTAL})
    since = metadata["mode"].text.rsplit(" ", 1)[-1]
    # what changed since the last sync: the change plus receipts saved within the overlap before
    # the newest version stored
    window = [r for r in company.receipts if fy.start <= r.voucher.date <= fy.end and r.version >= since]
    assert 2 * changed["edited"] + changed["added"] <= len(window) <= 2 * changed["edited"] + changed["added"] + 5
    assert metadata["mode"].text == f"incremental: {len(window)} changed since {since}"
    assert calls == batches(len(official(window, fy.start, fy.end)))
    assert changed["edited"] + changed["added"] <= calls[0] < first_calls[0] / 10

    full, full_calls, _ = refresh(eira)  # what a full re-read of the changed books gives
    assert full_calls == batches(len(official(company.receipts, fy.start, fy.end)))
    assert rows(merged) == rows(full)
    assert merged.num_rows > first.num_rows
    new_ids = set(merged.column("receipt_id").to_pylist()) - set(first.column("receipt_id").to_pylist())
    assert len(new_ids) == changed["edited"] + changed["added"]
    invalidated = [r for r in merged.to_pylist() if r["receipt_status"] == "INVALIDATED" and not r["is_official"]]
    assert len({r["receipt_id"] for r in invalidated}) >= changed["edited"]


def test_a_refresh_reads_in_full_what_it_cannot_trust(tmp_path):
    incremental = Incremental(key="receipt_id", cursor="receipt_version", changes=lambda *a: (set(), iter(())))
    periods = [FiscalPeriod("7", as_of() - timedelta(days=300), as_of() + timedelta(days=65))]
    part = tmp_path / "part-0.parquet"

    def stored(path):
        return pq.ParquetFile(path) if path.exists() else None

    assert plan(stored(part), SCHEMAS["ledger"], incremental, periods).reason == "nothing stored yet"

    row = {f.name: None for f in SCHEMAS["ledger"]} | {"period_id": "7", "receipt_id": "1", "dimensions": []}
    pq.write_table(pa.Table.from_pylist([row | {"receipt_version": "2026-03-02T10:00:00"}], SCHEMAS["ledger"]), part)
    assert plan(stored(part), SCHEMAS["ledger"], incremental, periods).since == "2026-03-02T09:00:00"
    renumbered = plan(
        stored(part), SCHEMAS["ledger"], incremental, [FiscalPeriod("8", periods[0].start, periods[0].end)]
    )
    assert renumbered.since is None and renumbered.reason == "the ERP's fiscal-year ids changed since the last sync"
    assert (
        plan(stored(part), SCHEMAS["ledger"].remove(0), incremental, periods).reason
        == "stored partition has an older layout"
    )

    pq.write_table(pa.Table.from_pylist([row], SCHEMAS["ledger"]), part)
    unversioned = plan(stored(part), SCHEMAS["ledger"], incremental, periods)
    assert unversioned.since is None and unversioned.reason == "no receipt_version stored"
