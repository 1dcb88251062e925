"""A run killed in the middle of dbt: its pool slot is freed and the run failed, and the next warehouse
run proceeds at once instead of waiting forever for the `duckdb_writer` pool."""

import os
import shutil
import signal
import subprocess
import sys
import time

import dagster as dg
import pytest

from connectors.settings import load_settings
from orchestration.definitions import build_pipeline
from orchestration.recovery import reap_dead_runs
from tests.conftest import ROOT

pytestmark = pytest.mark.e2e

WAREHOUSE_RUN = """
import sys, dagster as dg
from orchestration.definitions import build_pipeline
pipeline = build_pipeline()
with dg.DagsterInstance.from_config(sys.argv[1]) as instance:
    pipeline.defs.resolve_job_def("warehouse_job").execute_in_process(instance=instance)
"""


def claimed(instance: dg.DagsterInstance) -> list:
    return instance.event_log_storage.get_concurrency_info("duckdb_writer").claimed_slots


def test_a_run_killed_mid_dbt_frees_its_pool_and_the_next_run_proceeds(pipeline, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(pipeline["settings"].lake_root, data / "lake")
    env = {
        **os.environ,
        "NORDLEDGER_COMPANIES_FILE": str(pipeline["settings"].companies_file),
        "NORDLEDGER_DATA_DIR": str(data),
    }
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(ROOT / "orchestration/instance/dagster.yaml", home / "dagster.yaml")  # pools and run monitoring
    worker = subprocess.Popen(
        [sys.executable, "-c", WAREHOUSE_RUN, str(home)],
        env=env,
        cwd=ROOT,
        start_new_session=True,  # killed as a whole, dbt included, as an OOM-killed container would be
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    with dg.DagsterInstance.from_config(str(home)) as instance:
        try:
            deadline = time.monotonic() + 180
            while not (claimed(instance) and (data / "warehouse" / "build.duckdb").exists()):
                assert worker.poll() is None and time.monotonic() < deadline, "dbt never started"
                time.sleep(0.1)
            time.sleep(1.0)  # dbt is writing models now
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=30)
        finally:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGKILL)
        [run] = instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))
        assert [slot.run_id for slot in claimed(instance)] == [run.run_id]  # held by a dead run: stuck

        reaped = reap_dead_runs(instance)
        assert [(r.run_id, r.job_name) for r in reaped] == [(run.run_id, "warehouse_job")]
        assert reaped[0].freed_slots >= 1
        assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.FAILURE
        assert claimed(instance) == []
        assert reap_dead_runs(instance) == []  # nothing left to reap

        settings = load_settings(env)
        rerun = build_pipeline(settings).defs.resolve_job_def("warehouse_job").execute_in_process(instance=instance)
        assert rerun.success
        assert settings.published_db.exists()
        assert not [p for p in settings.published_db.parent.iterdir() if p.name.startswith(".")]  # no leftovers
