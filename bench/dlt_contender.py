"""dlt's rest_api source on the Fennoa-style ledger, to Parquet: `python -m bench.dlt_contender default|tuned URL OUT`.

`default`: one resource per fiscal year, dlt's out-of-the-box settings (pages one after another,
amounts inferred as double). `tuned`: the settings dlt's performance guide recommends -- one
parallelized resource per month, 4 extract workers (our concurrency), larger buffers, rotated
files, 2 normalize workers, DECIMAL(18,2) hints on the amounts. Prints the same JSON line as
bench.stages, with the correctness-gate figures read back from the files it wrote.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from bench.fixture import CREDENTIALS, periods
from bench.gate import gate_figures
from bench.stages import CONCURRENCY, FENNOA_PAGE, measure
from connectors.netvisor import month_windows

TUNED_ENV = {
    "EXTRACT__WORKERS": str(CONCURRENCY),
    "DATA_WRITER__BUFFER_MAX_ITEMS": "100000",
    "DATA_WRITER__FILE_MAX_ITEMS": "200000",
    "NORMALIZE__WORKERS": "2",
    "NORMALIZE__START_METHOD": "spawn",
    "LOAD__DELETE_COMPLETED_JOBS": "true",
}


def resources(tuned: bool) -> list[dict]:
    windows = (
        [(p.key, s, e) for p in periods() for s, e in month_windows(p.start, p.end)]
        if tuned
        else [(p.key, p.start, p.end) for p in periods()]
    )
    out = []
    for _key, start, end in windows:
        resource = {
            "name": f"ledger_{start.isoformat()}",
            "table_name": "ledger",
            "endpoint": {
                "path": f"accounting_api/get/ledger/{start.isoformat()}/{end.isoformat()}",
                "params": {"limit": FENNOA_PAGE},
                "data_selector": "data",
                "paginator": {
                    "type": "page_number",
                    "base_page": 1,
                    "page_param": "page",
                    "total_path": "pagination.pagesCount",
                },
            },
        }
        if tuned:
            resource["parallelized"] = True
            resource["columns"] = {
                side: {"data_type": "decimal", "precision": 18, "scale": 2} for side in ("debit", "credit")
            }
        out.append(resource)
    return out


def main(mode: str, base: str, out: Path) -> dict:
    if mode == "tuned":
        os.environ.update(TUNED_ENV)
    import dlt
    from dlt.sources.rest_api import rest_api_source

    creds = CREDENTIALS["fennoa"]
    start = time.perf_counter()
    source = rest_api_source(
        {
            "client": {
                "base_url": f"{base}/fennoa/api/",
                "auth": {"type": "http_basic", "username": creds["username"], "password": creds["api_key"]},
            },
            "resources": resources(mode == "tuned"),
        }
    )
    pipeline = dlt.pipeline(
        pipeline_name=f"bench_{mode}",
        pipelines_dir=str(out / ".dlt"),
        destination=dlt.destinations.filesystem(bucket_url=str(out / "lake")),
        dataset_name="fennoa",
        progress=None,
    )
    pipeline.run(source, loader_file_format="parquet")
    elapsed = time.perf_counter() - start
    files = sorted((out / "lake" / "fennoa" / "ledger").glob("*.parquet"))
    leftover = sum(f.stat().st_size for f in (out / ".dlt").rglob("*") if f.is_file())
    return {
        "seconds": elapsed,
        "requests": None,
        "gate_files": [str(f) for f in files],
        "files": len(files),
        "leftover_bytes": leftover,
        "settings": TUNED_ENV if mode == "tuned" else "defaults",
    }


if __name__ == "__main__":
    measured = measure(main(sys.argv[1], sys.argv[2], Path(sys.argv[3])))
    figures = gate_figures(measured.pop("gate_files"), style="dlt")  # after measure, as for ours
    print(json.dumps({**measured, "rows": figures["rows"], "gate": figures}, default=str))
