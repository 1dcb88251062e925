"""The `marts`, `office` and `refresh` parts: the real Dagster definitions over bench companies.

Each scenario gets an empty Dagster instance and data directory, and runs `bench.pipeline` in its
own process against the bulk simulator.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from bench.fixture import SIZES, companies_file, office_tenants, tenant
from connectors.settings import PROJECT_ROOT

INSTANCES = {"sqlite": "dagster.yaml", "postgres": "dagster.prod.yaml"}


def in_empty_instance(
    module: str,
    args: list[str],
    tenants,
    url: str,
    work: Path,
    throttled: tuple[str, ...] = (),
    instance: str = "sqlite",
):
    """Run `python -m <module> <args>` with its own companies.yaml, data directory and empty Dagster
    instance in `work`; its last line of output, parsed as JSON. `throttled`: see companies_file.
    `instance`: the local SQLite template, or the Postgres one (its DAGSTER_PG_* variables name an empty
    database)."""
    work.mkdir(parents=True, exist_ok=True)
    config, env = companies_file(tenants, url, throttled)
    (work / "companies.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    home = work / "dagster_home"
    home.mkdir(exist_ok=True)
    shutil.copy(PROJECT_ROOT / "orchestration" / "instance" / INSTANCES[instance], home / "dagster.yaml")
    env = {
        **os.environ,
        **env,
        "DAGSTER_HOME": str(home),
        "NORDLEDGER_COMPANIES_FILE": str(work / "companies.yaml"),
        "NORDLEDGER_DATA_DIR": str(work / "data"),
    }
    done = subprocess.run([sys.executable, "-m", module, *args], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{module} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def pipeline(
    tenants,
    url: str,
    work: Path,
    repeats: int,
    throttled: tuple[str, ...] = (),
    concurrent: bool = False,
    instance: str = "sqlite",
) -> dict:
    args = [str(work), str(repeats), *(["concurrent"] if concurrent else [])]
    return in_empty_instance("bench.pipeline", args, tenants, url, work, throttled, instance)


def marts_part(sizes: list[str], repeats: int, work: Path, procountor_sizes: list[str]) -> list[dict]:
    from bench.run import bulk_server

    results = []
    for size in sizes:
        styles = ["fennoa", "netvisor"] + (["procountor"] if size in procountor_sizes else [])
        tenants = [tenant(s, size) for s in styles]
        with bulk_server(tenants) as url:
            row = pipeline(tenants, url, work / f"marts_{size}", max(repeats, 1))
        row.update({"size": size, "styles": styles, "ledger_lines_per_year": SIZES[size]})
        results.append(row)
        print(json.dumps(row), flush=True)
    return results


def office_part(companies: int, work: Path, instance: str = "sqlite", warm: bool = True) -> dict:
    """The office's Procountor companies share one API client: the simulator holds that client to
    Procountor's 20 requests/s and the connector keeps its default 18/s, one limiter for the client.

    `warm`: a first backfill (its own empty instance and lake, not reported) has the simulator render every
    answer once, as the extract part's warm-up does; the measured backfill is then served from memory, so
    the simulator's rendering (a quarter of the CPU of a cold run on two cores) does not compete with the
    pipeline. A served answer skips the simulator's rate limit; the connector's own 18/s still holds."""
    import time

    import httpx

    from bench.run import bulk_server
    from bench.stages import sim_counts

    tenants = office_tenants(companies)
    with bulk_server(tenants, procountor_rate=20) as url:
        if warm:
            pipeline(
                tenants, url, work / "office_warm_up", 0, throttled=("procountor",), concurrent=True, instance=instance
            )
        httpx.delete(f"{url}/_sim/requests").raise_for_status()
        server_cpu = time.process_time()  # this process serves the simulator; the pipeline runs in others
        row = pipeline(tenants, url, work / "office", 0, throttled=("procountor",), concurrent=True, instance=instance)
        server_cpu = time.process_time() - server_cpu
        served = httpx.get(f"{url}/_sim/requests").raise_for_status().json()
    clients = {t.credentials["client_id"] for t in tenants if t.erp == "procountor"}
    row.update(
        {
            "companies": companies,
            "instance": instance,
            "simulator": "warm" if warm else "cold",
            "simulator_cpu_s": round(server_cpu, 2),
            "fiscal_years": 3,
            "ledger_lines_per_year": 2_000,
            "erps": {e: sum(t.erp == e for t in tenants) for e in ("fennoa", "netvisor", "procountor")},
            "procountor_api_clients": len(clients),
            "procountor_requests": sim_counts(served),
        }
    )
    print(json.dumps(row), flush=True)
    return row


def refresh_part(size: str, repeats: int, work: Path) -> list[dict]:
    from bench.run import bulk_server

    tenants = [tenant(s, size) for s in ("fennoa", "netvisor", "procountor")]
    with bulk_server(tenants) as url:
        rows = in_empty_instance("bench.refresh", [url, str(max(repeats, 1))], tenants, url, work / f"refresh_{size}")
    for row in rows:
        row["size"] = size
        print(json.dumps(row), flush=True)
    return rows
