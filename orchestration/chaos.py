"""`make chaos`: run the whole pipeline under seeded faults and compare it with a fault-free run.

Prints, per seed, the faults the simulator injected (by API and kind), whether every run survived,
and how many mart rows differ from the fault-free run (must be 0). Then two cases on the fault-free
run's data: the ERP suddenly answers "no fiscal years" for a company (the volume guard must refuse it
and the published marts stay as they were), and a warehouse run is killed in the middle of dbt (the
dead run is reaped, its pool slot freed, and the next run publishes the same marts). Options: --rate,
--seeds.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import dagster as dg
import duckdb
import httpx
import yaml


def _marts(db: Path) -> Counter:
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows: Counter[tuple[str, str]] = Counter()
        for (name,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts'"
        ).fetchall():
            rows.update((name, repr(r)) for r in con.execute(f'select * from marts."{name}"').fetchall())
        return rows
    finally:
        con.close()


def _run(url: str, workdir: Path, log=lambda *_: None) -> tuple[bool, Path, int]:
    from connectors.settings import PROJECT_ROOT, load_settings
    from orchestration.definitions import build_pipeline
    from orchestration.demo import authorize_simulated_banks
    from orchestration.runner import materialize_all

    config = yaml.safe_load((PROJECT_ROOT / "companies.yaml").read_text())
    for company in config["companies"]:
        company["base_url"] = company["base_url"].replace("http://127.0.0.1:8765", url)
        for connection in company.get("bank_connections", []):
            connection["base_url"] = connection["base_url"].replace("http://127.0.0.1:8765", url)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "companies.yaml").write_text(yaml.safe_dump(config))
    settings = load_settings(
        {
            **os.environ,
            "NORDLEDGER_COMPANIES_FILE": str(workdir / "companies.yaml"),
            "NORDLEDGER_DATA_DIR": str(workdir / "data"),
            "NORDLEDGER_HTTP_TIMEOUT": "1",
            "NORDLEDGER_HTTP_BASE_DELAY": "0.05",
            "NORDLEDGER_HTTP_MAX_ATTEMPTS": "10",
        }
    )
    pipeline = build_pipeline(settings)
    authorize_simulated_banks(settings, log=lambda *_: None)
    with dg.instance_for_test() as instance:
        results = materialize_all(pipeline, instance, log=log)
    return all(r.success for r in results), settings.published_db, len(results)


KILLED_WAREHOUSE = """
import sys, dagster as dg
from connectors.settings import load_settings
from orchestration.definitions import build_pipeline
with dg.DagsterInstance.from_config(sys.argv[1]) as instance:
    build_pipeline(load_settings()).defs.resolve_job_def("warehouse_job").execute_in_process(instance=instance)
"""


def _empty_answer(url: str, workdir: Path, expected: Counter) -> tuple[bool, str]:
    """Fennoa answers no fiscal years for aurora: every extract of it must be refused, nothing lost."""
    httpx.post(f"{url}/_sim/tamper", json={"api": "fennoa", "company": "aurora", "kind": "no_periods"})
    lines: list[str] = []
    try:
        _, db, _ = _run(url, workdir, log=lines.append)
    finally:
        httpx.delete(f"{url}/_sim/tamper")
    refused = any("volume guard" in line for line in lines)
    lost = sum(((expected - _marts(db)) + (_marts(db) - expected)).values())
    return (
        refused and lost == 0,
        f"volume guard refused: {'yes' if refused else 'NO'}; mart rows lost or changed: {lost}",
    )


def _kill_mid_dbt(workdir: Path, expected: Counter) -> tuple[bool, str]:
    """A warehouse run SIGKILLed while dbt writes; the next run must not wait for its pool slot."""
    from connectors.settings import PROJECT_ROOT, load_settings
    from orchestration.definitions import build_pipeline
    from orchestration.recovery import reap_dead_runs
    from orchestration.runner import QUIET

    home = workdir / "dagster_home"
    home.mkdir(exist_ok=True)
    shutil.copy(PROJECT_ROOT / "orchestration/instance/dagster.yaml", home / "dagster.yaml")
    env = {**os.environ, "NORDLEDGER_COMPANIES_FILE": str(workdir / "companies.yaml"),
           "NORDLEDGER_DATA_DIR": str(workdir / "data")}  # fmt: skip
    build_db = workdir / "data" / "warehouse" / "build.duckdb"
    build_db.unlink(missing_ok=True)
    worker = subprocess.Popen(
        [sys.executable, "-c", KILLED_WAREHOUSE, str(home)], env=env, cwd=PROJECT_ROOT, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    with dg.DagsterInstance.from_config(str(home)) as instance:
        deadline = time.monotonic() + 300
        while not build_db.exists() and worker.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)
        if worker.poll() is None:  # else it finished before the kill: the case reports 0 reaped and fails
            os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
        reaped = reap_dead_runs(instance)
        started = time.monotonic()
        rerun = build_pipeline(load_settings(env)).defs.resolve_job_def("warehouse_job")
        ok = rerun.execute_in_process(instance=instance, raise_on_error=False, run_config=QUIET).success
        took = time.monotonic() - started
    lost = sum(((expected - _marts(workdir / "data/warehouse/warehouse.duckdb")) + (
        _marts(workdir / "data/warehouse/warehouse.duckdb") - expected)).values())  # fmt: skip
    summary = f"dead runs reaped: {len(reaped)}; next run {'ok' if ok else 'FAILED'} in {took:.0f} s; mart rows lost or changed: {lost}"
    return ok and len(reaped) == 1 and lost == 0, summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestration.chaos")
    parser.add_argument("--rate", type=float, default=0.1, help="share of requests that get a fault")
    parser.add_argument("--seeds", type=int, default=3, help="faulted runs, one per seed")
    parser.add_argument("--first-seed", type=int, default=1)
    args = parser.parse_args(argv)
    from orchestration.cli import prepare_environment
    from simulator.server import serve_in_thread

    prepare_environment(None, None)  # the demo companies' credentials, as `nordledger demo` reads them

    with tempfile.TemporaryDirectory() as tmp, serve_in_thread() as url:
        ok, clean_db, runs = _run(url, Path(tmp) / "clean")
        if not ok:
            print("the fault-free run failed; nothing to compare", file=sys.stderr)
            return 1
        expected = _marts(clean_db)
        print(f"fault-free run: {runs} Dagster runs, {sum(expected.values())} mart rows\n")
        print("| seed | faults injected | by kind | runs survived | mart rows lost or changed |")
        print("|---:|---:|---|---|---:|")
        failed = False
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            httpx.post(f"{url}/_sim/faults", json={"mode": {"rate": args.rate, "seed": seed, "slow_seconds": 1.5}})
            failures: list[str] = []

            def keep_failures(line: str, failures: list[str] = failures) -> None:
                if line.startswith("    "):
                    failures.append(line)

            survived, db, runs = _run(url, Path(tmp) / f"seed{seed}", log=keep_failures)
            injected = httpx.get(f"{url}/_sim/faults").json()["injected"]
            httpx.delete(f"{url}/_sim/faults")
            kinds: Counter[str] = Counter()
            for item in injected:
                kinds[item["kind"]] += item["count"]
            lost = sum(((expected - _marts(db)) + (_marts(db) - expected)).values()) if survived else None
            failed |= not survived or bool(lost)
            print(
                f"| {seed} | {sum(kinds.values())} | {', '.join(f'{k} {n}' for k, n in sorted(kinds.items()))} "
                f"| {'all ' + str(runs) if survived else 'NO'} | {lost if lost is not None else '-'} |"
            )
            for line in failures:
                print(f"  seed {seed} failure: {line.strip()}", file=sys.stderr)
        print()
        for name, case in (
            ("empty answer (no fiscal years for aurora)", lambda: _empty_answer(url, Path(tmp) / "clean", expected)),
            ("warehouse run killed mid-dbt", lambda: _kill_mid_dbt(Path(tmp) / "clean", expected)),
        ):
            passed, summary = case()
            failed |= not passed
            print(f"{name}: {'ok' if passed else 'FAILED'} - {summary}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
