"""`make bench`: the pipeline against this machine's limits and against dlt, written to bench/results/.

Parts (``--parts``, default all):

- ``extract``: per size and ERP style, the fetch / parse / write baselines, our extract, and for
  the Fennoa JSON style dlt's rest_api (default and tuned), each in its own process, a warm-up and
  then ``--repeats`` measured runs in interleaved order; median, min and max are reported. For
  Procountor, each fiscal year's requests (counted by the simulator) against the bound of a full
  read: list pages + ceil(receipts in the books / 200) + 5.
  With ``--procountor-rate R``, one Procountor fiscal year per size is also read with the
  connector's own limiter at R requests/s against a simulator enforcing the published 20/s
  (``bench.procountor_rate``), its time against 1.2 x requests / R.
- ``marts``: the real Dagster definitions over the same fixture, then dbt (build and run), the
  same models' compiled SQL run directly in DuckDB, and publish.
- ``office``: an accounting office (200 small companies x 3 fiscal years) backfilled from an
  empty Dagster instance; its Procountor companies share one API client and its 20 requests/s. A first,
  unreported backfill warms the simulator up (``--office-cold-simulator`` measures that one instead).
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
from bench.marts import marts_part, office_part, refresh_part
from connectors.offload import WORKERS_ENV

RESULTS = Path(__file__).resolve().parent / "results"
OFFLOADING = ("fennoa", "netvisor", "procountor")  # large ledgers go to decode workers (connectors.offload)
PROCOUNTOR_PUBLISHED_RATE = 20  # requests/s per API client (docs/erp-apis.md), enforced by the simulator
RATED_YEARS = 1  # fiscal years read at the rate limit (one L year is about 4 minutes at 18/s)


def bulk_server(tenants, procountor_rate: int = 10**6):
    """The simulator in bulk mode; `procountor_rate`: Procountor's requests/s per API client (20 published)."""
    from simulator.server import build_app, serve_in_thread

    os.environ["NORDLEDGER_SIM_AS_OF"] = AS_OF.isoformat()
    app = build_app(tenants=tenants, fennoa_max_active=10**6, procountor_rate=procountor_rate, bulk=True)
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
    for key in ("gate", "settings", "files", "leftover_bytes", "requests_per_year"):
        if key in first:
            row[key] = first[key]
    return row


def extract_part(
    sizes: list[str],
    styles: list[str],
    repeats: int,
    work: Path,
    with_dlt: bool,
    procountor_sizes: list[str],
    results: list[dict] | None = None,
    procountor_rate: float | None = None,
) -> list[dict]:
    """The extract rows, appended to `results` as each style at each size finishes (so a run stopped
    by hand still reports them)."""
    results = [] if results is None else results
    for size in sizes:
        active = [s for s in styles if s != "procountor" or size in procountor_sizes]
        with bulk_server([tenant(s, size) for s in active]) as url:
            for style in active:
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
                if style == "procountor":
                    from bench.stages import procountor_bounds

                    # the most any measured run asked per fiscal year (they ask the same URLs), against the bound
                    years = zip(*(r["requests_per_year"] for r in runs["extract"]), strict=True)
                    worst = [max(y, key=lambda c: c["requests"]) for y in years]
                    runs["extract"][0]["requests_per_year"] = procountor_bounds(url, worst)
                    for y in runs["extract"][0]["requests_per_year"]:
                        print(
                            f"  {size} procountor FY {y['fiscal_year']}: {y['requests']} requests ({y['list_pages']} "
                            f"list pages, {y['batches']} batches) for {y['receipts']} receipts in the books; "
                            f"bound {y['bound']}: {'within' if y['within_bound'] else 'EXCEEDED'}",
                            flush=True,
                        )
                for contender in contenders:
                    row = summarize(contender, runs[contender], size=size, style=style, ledger_lines=lines)
                    results.append(row)
                    print(json.dumps(row), flush=True)
                if style == "netvisor":  # issue 18's decode target: CPU against the bare loop, same answers
                    with tempfile.TemporaryDirectory(dir=work) as out:
                        cpu = stage(["-m", "bench.stages", style, "decode_cpu", url, out])
                    results.append({"contender": "decode_cpu", "size": size, "style": style, **cpu})
                    print(
                        f"  {size} netvisor decode CPU: ours {cpu['ours_cpu_s']} s, bare iterparse loop "
                        f"{cpu['bare_cpu_s']} s ({cpu['ratio']} x)",
                        flush=True,
                    )
        if procountor_rate and "procountor" in active:
            results.append(rated_procountor(size, procountor_rate, work))
    return results


def rated_procountor(size: str, rate: float, work: Path) -> dict:
    """One fiscal year of Procountor read with the connector's limiter at `rate` requests/s, against a
    simulator that enforces the published 20/s per API client (a fresh one: nothing answered from its
    bulk store before the limit is checked); the time against 1.2 x requests / rate."""
    with bulk_server([tenant("procountor", size)], procountor_rate=PROCOUNTOR_PUBLISHED_RATE) as url:
        with tempfile.TemporaryDirectory(dir=work) as out:
            result = stage(["-m", "bench.procountor_rate", url, out, str(rate), str(RATED_YEARS)])
    row = {"contender": "rated", "size": size, "style": "procountor", **result}
    row["seconds"] = round(row["seconds"], 2)
    print(
        f"  {size} procountor at {rate:g}/s: {row['seconds']} s for {row['requests']} requests "
        f"(bound 1.2 x requests / rate = {row['bound_s']} s: {'within' if row['within_bound'] else 'EXCEEDED'}), "
        f"{row['retries']} retries, peak RSS {row['peak_rss_mb']} MB",
        flush=True,
    )
    return row


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
    parser.add_argument(
        "--office-instance",
        default="sqlite",
        choices=["sqlite", "postgres"],
        help="the office's Dagster instance: the local SQLite template, or dagster.prod.yaml (the scale extra; "
        "DAGSTER_PG_* name an empty database)",
    )
    parser.add_argument(
        "--office-cold-simulator",
        action="store_true",
        help="measure the office's first backfill against the simulator, which then renders every answer "
        "while the pipeline runs (default: a first, unreported backfill warms it up)",
    )
    parser.add_argument("--refresh-size", default="M", choices=list(SIZES))
    parser.add_argument("--marts-sizes", default="", help="sizes of the marts part (default: every size asked for)")
    parser.add_argument(
        "--procountor-rate",
        type=float,
        default=None,
        help="also read one Procountor fiscal year per size with the connector limited to this many requests/s "
        "(e.g. 18, its default) against a simulator enforcing the published 20/s; reported against "
        "1.2 x requests / rate",
    )
    parser.add_argument(
        "--procountor-sizes",
        default="",
        help="sizes at which the Procountor style runs (default: every size asked for; a full read is "
        "the list pages plus one call per 200 receipts in the books)",
    )
    args = parser.parse_args(argv)
    sizes = [s for s in args.sizes.split(",") if s]
    unknown = set(sizes) - set(SIZES)
    if unknown:
        parser.error(f"unknown size(s) {sorted(unknown)}; choose from {list(SIZES)}")
    parts = args.parts.split(",")
    styles = [s for s in args.styles.split(",") if s]
    unknown = set(styles) - set(STYLES)
    if unknown:
        parser.error(f"unknown style(s) {sorted(unknown)}; choose from {list(STYLES)}")
    # dlt runs only on the Fennoa JSON style: no other style needs it installed
    with_dlt = "fennoa" in styles and not args.no_dlt
    if "extract" in parts and with_dlt and importlib.util.find_spec("dlt") is None:
        parser.error("dlt is not installed: `make bench` installs it (the `bench` extra), or pass --no-dlt")
    procountor_sizes = [s for s in args.procountor_sizes.split(",") if s] or sizes
    marts_sizes = [s for s in args.marts_sizes.split(",") if s] or sizes
    if set(marts_sizes) - set(SIZES):
        parser.error(f"unknown marts size(s) {sorted(set(marts_sizes) - set(SIZES))}; choose from {list(SIZES)}")
    started = time.monotonic()
    report: dict = {
        "command": "python -m bench.run " + " ".join(argv if argv is not None else sys.argv[1:]),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "versions": versions(),
    }
    failed = []
    with tempfile.TemporaryDirectory(prefix="nordledger-bench-") as tmp:
        work = Path(tmp)
        runners = {
            "extract": lambda: extract_part(
                sizes,
                styles,
                args.repeats,
                work,
                with_dlt,
                procountor_sizes,
                report.setdefault("extract", []),
                args.procountor_rate,
            ),
            "marts": lambda: marts_part(marts_sizes, args.repeats, work, procountor_sizes),
            "office": lambda: office_part(
                args.office_companies, work, args.office_instance, not args.office_cold_simulator
            ),
            "refresh": lambda: refresh_part(args.refresh_size, args.repeats, work),
        }
        for part in [p for p in runners if p in parts]:
            # A part that fails is recorded with its error; the other parts still run and are written.
            try:
                report[part] = runners[part]()
            except Exception as exc:
                failed.append(part)
                report.setdefault("errors", {})[part] = f"{type(exc).__name__}: {exc}"[-4000:]
                print(f"  {part} FAILED: {str(exc)[-2000:]}", file=sys.stderr, flush=True)
            except KeyboardInterrupt:  # stopped by hand (SIGINT): what finished is still written
                failed.append(part)
                report["interrupted"] = part
                print(f"  stopped during {part}; writing what finished", file=sys.stderr, flush=True)
                break
    report["total_minutes"] = round((time.monotonic() - started) / 60, 1)
    from bench.report import write_report

    path = write_report(report, RESULTS)
    print(f"\nResults: {path} and {RESULTS / 'latest.md'}")
    if failed:
        print(f"Failed parts: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
