"""`make test-scale`: the pipeline on the production shape (Dagster on Postgres, steps in Celery workers
with Redis), on 127.0.0.1, beside the embedded default. Collected only when NORDLEDGER_TEST_SCALE=1,
which `make test-scale` sets: `make test` needs no server."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import httpx
import pytest

from tests.conftest import ROOT, write_companies
from tests.scale import services

INSTANCE_DIR = ROOT / "orchestration" / "instance"


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if os.environ.get("NORDLEDGER_TEST_SCALE") != "1" and collection_path.name.startswith("test_"):
        return True
    return None


def run_pipeline(instance: dg.DagsterInstance, simulator_url: str) -> dict:
    """Every job over every partition for the environment's settings, as the demo runs them."""
    from connectors.settings import load_settings
    from orchestration.definitions import build_pipeline
    from orchestration.demo import authorize_simulated_banks
    from orchestration.runner import materialize_all

    httpx.post(f"{simulator_url}/_sim/clock", json={"reset": True})  # the bank's day: the books' last day
    settings = load_settings()
    pipeline = build_pipeline(settings)
    authorize_simulated_banks(settings, log=lambda *_: None)
    results = materialize_all(pipeline, instance, log=lambda *_: None)
    return {"settings": settings, "pipeline": pipeline, "instance": instance, "results": results}


def wait_until_ready(worker: subprocess.Popen, log: Path, timeout: float = 120) -> None:
    """Until the Celery worker logs that it takes tasks; its log's tail if it exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        if " ready." in text:
            return
        if worker.poll() is not None:
            raise RuntimeError(f"a Celery worker exited with {worker.returncode}:\n{text[-3000:]}")
        time.sleep(0.5)
    raise RuntimeError(f"a Celery worker was not ready within {timeout} s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def embedded(tmp_path_factory, simulator_url):
    """The local default: SQLite instance, steps in the run's process, folder lake, DuckDB files."""
    tmp = tmp_path_factory.mktemp("embedded")
    mp = pytest.MonkeyPatch()
    mp.setenv("NORDLEDGER_COMPANIES_FILE", str(write_companies(tmp / "companies.yaml", simulator_url)))
    mp.setenv("NORDLEDGER_DATA_DIR", str(tmp / "data"))
    mp.setenv("NORDLEDGER_EXECUTOR", "in_process")
    with dg.instance_for_test() as instance:
        yield run_pipeline(instance, simulator_url)
    mp.undo()


@pytest.fixture(scope="session")
def scaled(tmp_path_factory, simulator_url, embedded):
    """The production shape: dagster.prod.yaml on a PostgreSQL cluster, NORDLEDGER_EXECUTOR=celery with
    two Celery workers (separate processes, one task at a time each) on a Redis broker, the lake on S3 (moto)."""
    tmp = tmp_path_factory.mktemp("scaled")
    home = tmp / "dagster_home"
    home.mkdir()
    shutil.copy(INSTANCE_DIR / "dagster.prod.yaml", home / "dagster.yaml")
    with services.postgres(("dagster", "marts")) as pg, services.redis() as broker, services.s3() as s3:
        env = {
            "NORDLEDGER_COMPANIES_FILE": str(write_companies(tmp / "companies.yaml", simulator_url)),
            "NORDLEDGER_DATA_DIR": str(tmp / "data"),
            "NORDLEDGER_EXECUTOR": "celery",
            "NORDLEDGER_CELERY_BROKER": broker,
            "NORDLEDGER_CELERY_BACKEND": broker,
            "DAGSTER_HOME": str(home),
            **pg.env("dagster"),
            **s3.env("lake"),
            "NORDLEDGER_MARTS_PG_HOST": pg.host,
            "NORDLEDGER_MARTS_PG_PORT": str(pg.port),
            "NORDLEDGER_MARTS_PG_DB": "marts",
            "NORDLEDGER_MARTS_PG_USER": pg.user,
            "NORDLEDGER_MARTS_PG_PASSWORD": pg.password,
        }
        mp = pytest.MonkeyPatch()
        for key, value in env.items():
            mp.setenv(key, value)
        celery = str(Path(sys.executable).with_name("dagster-celery"))
        config = str(INSTANCE_DIR / "celery_worker.yaml")
        workers = []
        for i in range(2):
            log = (tmp / f"worker-{i}.log").open("wb")
            command = [celery, "worker", "start", "-A", "dagster_celery.app", "-y", config, "-n", f"nordledger-{i}",
                       "--loglevel", "INFO", "--", "--concurrency=1"]  # fmt: skip
            path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"  # it starts `celery`
            workers.append(
                subprocess.Popen(
                    command, cwd=ROOT, env={**os.environ, "PATH": path}, stdout=log, stderr=subprocess.STDOUT
                )
            )
            log.close()
        for i, worker in enumerate(workers):
            wait_until_ready(worker, tmp / f"worker-{i}.log")
        try:
            with dg.DagsterInstance.get() as instance:
                yield {**run_pipeline(instance, simulator_url), "workers": workers, "logs": tmp, "s3": s3, "pg": pg}
        finally:
            for worker in workers:
                worker.terminate()
            for worker in workers:
                try:
                    worker.wait(30)
                except subprocess.TimeoutExpired:
                    worker.kill()
            mp.undo()


@pytest.fixture(scope="session")
def postgres_cluster():
    """A PostgreSQL cluster with no databases yet, for tests that create their own (test_marts_postgres.py)."""
    with services.postgres(()) as pg:
        yield pg
