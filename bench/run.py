"""`make bench`: extraction speed and memory against the machine's own limits (first cut).

For each size, a Fennoa company with that many ledger lines per fiscal year is served by the
simulator on loopback, and each contender runs in its own process (so peak RSS is its own), three
times after a warm-up; the median is reported:

- `fetch`   : the same ledger pages with the same concurrency, bytes discarded (the physical limit);
- `parse`   : JSON decoding of those pages only;
- `write`   : an Arrow table of the ledger written to Parquet only;
- `extract` : the connector + lake writer end to end (fetch + parse + validate + write, streaming).

Results: bench/results/<timestamp>.json and latest.md. Not yet here (issue 7): dlt, the dbt stage,
the other ERP styles, L size and the accounting-office backfill.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from datetime import date, datetime, timezone
from pathlib import Path

SIZES = {"S": 10_000, "M": 100_000, "L": 1_000_000}
RESULTS = Path(__file__).resolve().parent / "results"

CONTENDER = r'''
import json, sys, time, resource, tempfile
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal
from pathlib import Path
import httpx, pyarrow as pa, pyarrow.parquet as pq
kind, url = sys.argv[1], sys.argv[2]
auth = ("bench-api", "bench-key")
path = "accounting_api/get/ledger/2025-01-01/2025-12-31"
def pages():
    with httpx.Client(base_url=url, auth=auth, timeout=120) as c:
        first = c.get(path, params={"page": 1, "limit": 500})
        n = first.json()["pagination"]["pagesCount"]
        with ThreadPoolExecutor(4) as pool:
            rest = list(pool.map(lambda p: c.get(path, params={"page": p, "limit": 500}).content, range(2, n + 1)))
    return [first.content, *rest]
rows = 0
start = time.perf_counter()
if kind == "fetch":
    rows = sum(len(p) for p in pages())  # bytes
elif kind == "parse":
    raw = pages(); start = time.perf_counter()
    rows = sum(len(json.loads(p, parse_float=Decimal)["data"]) for p in raw)
elif kind == "write":
    from connectors.fennoa import FennoaClient
    from connectors.fiscal import FiscalPeriod
    with FennoaClient("bench", url, *auth) as client:
        table = pa.Table.from_batches(list(client.ledger(FiscalPeriod("1", date(2025, 1, 1), date(2025, 12, 31)))))
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        pq.write_table(table, Path(tmp) / "x.parquet", compression="zstd")
    rows = table.num_rows
elif kind == "extract":
    from assets.lake import write_partition
    from connectors.fennoa import SCHEMAS, FennoaClient
    from connectors.fiscal import FiscalPeriod
    with tempfile.TemporaryDirectory() as tmp, FennoaClient("bench", url, *auth) as client:
        written = write_partition(Path(tmp) / "p", SCHEMAS["ledger"],
                                  client.ledger(FiscalPeriod("1", date(2025, 1, 1), date(2025, 12, 31))))
        rows = written.rows
elapsed = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_SELF)
# VmHWM belongs to this process image; ru_maxrss would carry the parent's peak across fork + exec.
hwm_kb = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(json.dumps({"seconds": elapsed, "rows": rows, "peak_rss_mb": hwm_kb / 1024,
                  "cpu_seconds": usage.ru_utime + usage.ru_stime}))
'''


def run_contender(kind: str, url: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CONTENDER, kind, url], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run")
    parser.add_argument("--sizes", default="S,M", help="comma list of S, M, L")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    from simulator.books import CompanyProfile
    from simulator.catalogue import Tenant
    from simulator.server import serve_in_thread

    results = []
    for size in args.sizes.split(","):
        lines = SIZES[size]
        profile = CompanyProfile("bench", "Bench Oy", "2345678-0", ((date(2025, 1, 1), date(2025, 12, 31)),),
                                 lines_per_year=lines, seed=5)
        tenant = Tenant("fennoa", profile, {"username": "bench-api", "api_key": "bench-key"})
        with serve_in_thread(tenants=[tenant]) as url:
            base = f"{url}/fennoa/api/"
            for kind in ("fetch", "parse", "write", "extract"):
                run_contender(kind, base)  # warm-up (the simulator renders and caches the books)
                runs = [run_contender(kind, base) for _ in range(args.repeats)]
                median = statistics.median(r["seconds"] for r in runs)
                rows = runs[0]["rows"]
                results.append({"size": size, "ledger_lines": lines, "stage": kind, "median_seconds": round(median, 3),
                                "per_second": round(rows / median) if kind != "fetch" else None,
                                "bytes" if kind == "fetch" else "rows": rows,
                                "peak_rss_mb": round(max(r["peak_rss_mb"] for r in runs), 1),
                                "cpu_seconds": round(statistics.median(r["cpu_seconds"] for r in runs), 2)})
                print(json.dumps(results[-1]), flush=True)
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    (RESULTS / f"{stamp}.json").write_text(json.dumps({"command": "make bench", "results": results}, indent=2))
    table = ["| size | stage | median s | rows/s | peak RSS MB | CPU s |", "|---|---|---:|---:|---:|---:|"]
    table += [f"| {r['size']} | {r['stage']} | {r['median_seconds']} | {r['per_second'] or '-'} | {r['peak_rss_mb']} "
              f"| {r['cpu_seconds']} |" for r in results]
    (RESULTS / "latest.md").write_text("\n".join(table) + "\n")
    print("\n".join(table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
