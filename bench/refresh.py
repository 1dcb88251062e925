"""The `refresh` part: what a nightly refresh of an open fiscal year costs after 1 % of it changed.

Per ERP style, with the real definitions in an empty Dagster instance: the fiscal year is read in
full, then the simulator changes 1 % of its lines (Procountor: receipts edited and added, as a
bookkeeper would), then the nightly run (tag `nordledger/refresh=incremental`) refreshes it;
requests are counted by the simulator. The refreshed partition must equal a full re-read of the
changed books. Child process: `python -m bench.refresh <simulator url> <repeats>`.
"""

from __future__ import annotations

import json
import shutil
import statistics
import sys
import time
from pathlib import Path

import httpx

FISCAL_YEAR = "2025"
CHANGE_VERSION = "2026-01-16T03:00:00"  # the night after the books' last day
SHARE = 0.01


def counted(url: str, action) -> tuple[dict, float, dict]:
    """Run `action` with the simulator's request count reset; (its result, seconds, requests by path)."""
    httpx.delete(f"{url}/_sim/requests")
    start = time.perf_counter()
    result = action()
    seconds = time.perf_counter() - start
    return result, seconds, httpx.get(f"{url}/_sim/requests").json()


def run(defs, instance, erp: str, company: str, tags: dict) -> dict:
    import dagster as dg

    from bench.pipeline import step_times

    result = defs.resolve_job_def(f"{erp}_fiscal_year_job").execute_in_process(
        instance=instance,
        partition_key=dg.MultiPartitionKey({"company": company, "fiscal_year": FISCAL_YEAR}),
        tags=tags,
        raise_on_error=False,
    )
    if not result.success:
        raise SystemExit(f"{erp} fiscal-year run failed: {result.run_id}")
    steps, _ = step_times(instance, [result.run_id])
    ledger = next(m.metadata for m in result.asset_materializations_for_node(f"raw__{erp}__ledger"))
    return {
        "ledger_step_s": round(steps[f"raw__{erp}__ledger"], 2),
        "mode": ledger["mode"].text,
        "rows": ledger["dagster/row_count"].value,
    }


def sorted_rows(path: Path) -> list[tuple]:
    import pyarrow.parquet as pq

    return sorted(tuple(map(repr, r.values())) for r in pq.read_table(path).to_pylist())


def style_row(url: str, defs, instance, settings, erp: str, repeats: int) -> dict:
    company = f"bench_{erp}"
    incremental = {"nordledger/refresh": "incremental"}
    job = defs.resolve_job_def(f"{erp}_reference_job")
    if not job.execute_in_process(instance=instance, partition_key=company).success:
        raise SystemExit(f"{erp} reference run failed")
    part = (
        settings.lake_root
        / "raw"
        / erp
        / "ledger"
        / f"company={company}"
        / f"fiscal_year={FISCAL_YEAR}"
        / "part-0.parquet"
    )
    first, first_s, first_requests = counted(url, lambda: run(defs, instance, erp, company, {}))
    row = {
        "style": erp,
        "fiscal_year": FISCAL_YEAR,
        "ledger_rows": first["rows"],
        "full": {"seconds": round(first_s, 2), **first, "requests": first_requests},
    }
    change = None
    if erp == "procountor":
        stored = part.with_name("before-change.parquet")
        shutil.copy(part, stored)
        change = httpx.post(
            f"{url}/_sim/change",
            json={"company": company, "fiscal_year": FISCAL_YEAR, "share": SHARE, "version": CHANGE_VERSION},
        ).json()
    refreshes = []
    for _ in range(repeats):
        if change is not None:
            shutil.copy(stored, part)  # each repeat refreshes the same pre-change partition
        result, seconds, requests = counted(url, lambda: run(defs, instance, erp, company, incremental))
        refreshes.append({"seconds": seconds, **result, "requests": requests})
    row["change"] = change
    row["refresh"] = {
        **refreshes[0],
        "seconds": round(statistics.median(r["seconds"] for r in refreshes), 2),
        "ledger_step_s": round(statistics.median(r["ledger_step_s"] for r in refreshes), 2),
        "runs": repeats,
    }
    if change is not None:
        refreshed = sorted_rows(part)
        unchanged, seconds, requests = counted(url, lambda: run(defs, instance, erp, company, incremental))
        row["no_change"] = {"seconds": round(seconds, 2), **unchanged, "requests": requests}
        again, seconds, requests = counted(url, lambda: run(defs, instance, erp, company, {}))
        row["full_after_change"] = {"seconds": round(seconds, 2), **again, "requests": requests}
        row["equals_full_read"] = refreshed == sorted_rows(part)
    return row


def main(url: str, repeats: int) -> list[dict]:
    import dagster as dg

    from connectors.companies import load_companies
    from connectors.settings import load_settings
    from orchestration.definitions import build_definitions

    settings = load_settings()
    defs = build_definitions(settings)
    erps = [c.erp for c in load_companies(settings.companies_file, require_env=False).companies]
    with dg.DagsterInstance.get() as instance:
        return [style_row(url, defs, instance, settings, erp, repeats) for erp in erps]


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], int(sys.argv[2]))))
