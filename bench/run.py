"""`make bench`: the pipeline against this machine's limits and against dlt, written to bench/results/.

Parts (``--parts``, default all):

- ``extract``: per size and ERP style, the fetch / parse / write baselines, our extract, and for
  the Fennoa JSON style dlt's rest_api (default and tuned), each in its own process, a warm-up and
  then ``--repeats`` measured runs in interleaved order; median, min and max are reported.
- ``marts``: the real Dagster definitions over the same fixture, then dbt (build and run), the
  same models' compiled SQL run directly in DuckDB, and publish.
- ``office``: an accounting office (200 small companies x 3 fiscal years) backfilled from an
  empty Dagster instance.
- ``refresh``: the nightly refresh of one fiscal year after 1 % of it changed, requests counted,
  checked against a full re-read (size ``--refresh-size``).

The simulator runs in bulk mode (each response rendered once, then served from memory).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from bench.fixture import AS_OF, SIZES, STYLES, tenant
from connectors.offload import WORKERS_ENV

RESULTS = Path(__file__).resolve().parent / "results"
OFFLOADING = ("fennoa", "netvisor")  # styles whose large ledgers go to decode workers (connectors.offload)


def bulk_server(tenants):
    from simulator.server import build_app, serve_in_thread

    os.environ["NORDLEDGER_SIM_AS_OF"] = AS_OF.isoformat()
    app = build_app(tenants=tenants, fennoa_max_active=10**6, procountor_rate=10**6, bulk=True)
    return serve_in_thread(app=app)


def stage(args: list[str], env: dict | None = None) -> dict:
    out = subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:4])} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def summarize(name: str, runs: list[dict], **extra) -> dict:
    seconds = [r["seconds"] for r in runs]
    median = statistics.median(seconds)
    first = runs[0]
    row = {
        "contender": name,
        **extra,
        "median_s": round(median, 3),
        "min_s": round(min(seconds), 3),
        "max_s": round(max(seconds), 3),
        "rows": first.get("rows"),
        "requests": first.get("requests"),
        "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
        "cpu_s": round(statistics.median(r["cpu_seconds"] for r in runs), 2),
    }
    if name != "fetch" and first.get("rows"):
        row["lines_per_s"] = round(first["rows"] / median)
    if name == "fetch":
        row["mb_per_s"] = round(first["rows"] / median / 1e6, 1)
    for key in ("gate", "settings", "files", "leftover_bytes"):
        if key in first:
            row[key] = first[key]
    return row


def extract_part(
    sizes: list[str], styles: list[str], repeats: int, work: Path, with_dlt: bool, procountor_sizes: list[str]
) -> list[dict]:
    results = []
    for size in sizes:
        active = [s for s in styles if s != "procountor" or size in procountor_sizes]
        with bulk_server([tenant(s, size) for s in active]) as url:
            for style in active:
                # Procountor's receipts are decoded in-process anyway: no second run of the same code for it.
                contenders = [
                    "extract",
                    *(["extract_inline"] if style in OFFLOADING else []),
                    "fetch",
                    "parse",
                    "write",
                ]
                if with_dlt and style == "fennoa":
                    contenders += ["dlt_default", "dlt_tuned"]
                runs: dict[str, list[dict]] = {c: [] for c in contenders}
                for repeat in range(repeats + 1):  # repeat 0 is the warm-up (it also fills the bulk cache)
                    for contender in contenders:
                        with tempfile.TemporaryDirectory(dir=work) as out:
                            if contender.startswith("dlt_"):
                                result = stage(["-m", "bench.dlt_contender", contender.removeprefix("dlt_"), url, out])
                            elif contender == "extract_inline":  # the same code with decoding in-process
                                result = stage(
                                    ["-m", "bench.stages", style, "extract", url, out],
                                    env={**os.environ, WORKERS_ENV: "0"},
                                )
                            else:
                                result = stage(["-m", "bench.stages", style, contender, url, out])
                        if repeat:
                            runs[contender].append(result)
                        print(
                            f"  {size} {style:<10} {contender:<12} run {repeat}: {result['seconds']:.2f} s", flush=True
                        )
                lines = runs["extract"][0]["rows"]
                for contender in contenders:
                    row = summarize(contender, runs[contender], size=size, style=style, ledger_lines=lines)
                    results.append(row)
                    print(json.dumps(row), flush=True)
    return results


def versions() -> dict:
    names = ["dagster", "dagster-dbt", "dbt-core", "dbt-duckdb", "duckdb", "pyarrow", "httpx", "orjson", "dlt"]
    out = {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count()}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="S,M", help="comma list of S, M, L (ledger lines per fiscal year)")
    parser.add_argument("--styles", default=",".join(STYLES), help="comma list of fennoa, netvisor, procountor")
    parser.add_argument("--parts", default="extract,marts,office,refresh")
    parser.add_argument("--repeats", type=int, default=3, help="measured runs after the warm-up")
    parser.add_argument("--no-dlt", action="store_true", help="leave dlt out of the extract part")
    parser.add_argument("--office-companies", type=int, default=200)
    parser.add_argument("--refresh-size", default="M", choices=list(SIZES))
    parser.add_argument(
        "--procountor-sizes",
        default="S,M",
        help="sizes at which the Procountor style runs (N+1 requests: L is 750 k detail calls a run)",
    )
    args = parser.parse_args(argv)
    sizes = [s for s in args.sizes.split(",") if s]
    unknown = set(sizes) - set(SIZES)
    if unknown:
        parser.error(f"unknown size(s) {sorted(unknown)}; choose from {list(SIZES)}")
    parts = args.parts.split(",")
    if "extract" in parts and not args.no_dlt and importlib.util.find_spec("dlt") is None:
        parser.error("dlt is not installed: `make bench` installs it (the `bench` extra), or pass --no-dlt")
    procountor_sizes = args.procountor_sizes.split(",")
    started = time.monotonic()
    report: dict = {
        "command": "python -m bench.run " + " ".join(argv if argv is not None else sys.argv[1:]),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "versions": versions(),
    }
    with tempfile.TemporaryDirectory(prefix="nordledger-bench-") as tmp:
        work = Path(tmp)
        if "extract" in parts:
            report["extract"] = extract_part(
                sizes, args.styles.split(","), args.repeats, work, not args.no_dlt, procountor_sizes
            )
        if "marts" in parts:
            from bench.marts import marts_part

            report["marts"] = marts_part(sizes, args.repeats, work, procountor_sizes)
        if "office" in parts:
            from bench.marts import office_part

            report["office"] = office_part(args.office_companies, work)
        if "refresh" in parts:
            from bench.marts import refresh_part

            report["refresh"] = refresh_part(args.refresh_size, args.repeats, work)
    report["total_minutes"] = round((time.monotonic() - started) / 60, 1)
    from bench.report import write_report

    path = write_report(report, RESULTS)
    print(f"\nResults: {path} and {RESULTS / 'latest.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
