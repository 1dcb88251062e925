"""`make chaos`: run the whole pipeline under seeded faults and compare it with a fault-free run.

Prints, per seed, the faults the simulator injected (by API and kind), whether every run survived,
and how many mart rows differ from the fault-free run (must be 0). Options: --rate, --seeds.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestration.chaos")
    parser.add_argument("--rate", type=float, default=0.1, help="share of requests that get a fault")
    parser.add_argument("--seeds", type=int, default=3, help="faulted runs, one per seed")
    parser.add_argument("--first-seed", type=int, default=1)
    args = parser.parse_args(argv)
    from simulator.server import serve_in_thread

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
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
