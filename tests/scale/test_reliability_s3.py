"""The reliability suite's faults and kill against the lake on S3 (moto on 127.0.0.1): the marts come out
identical, a fault that never clears and a killed extract leave every stored object as it was."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time

import dagster as dg
import httpx
import pyarrow.fs as pafs
import pytest

from assets.lake_store import lake_store
from assets.object_lake import ObjectLake
from tests.conftest import ROOT
from tests.e2e.test_reliability import KILLED_EXTRACT, marts, run_pipeline
from tests.scale import services


def digests(lake: ObjectLake) -> dict[str, str]:
    """Every object of the lake (staging ones included) and a hash of its bytes."""
    selector = pafs.FileSelector(lake.base, recursive=True, allow_not_found=True)
    found = {}
    for info in lake.fs.get_file_info(selector):
        if info.type == pafs.FileType.File:
            with lake.fs.open_input_stream(info.path) as stream:
                found[info.path[len(lake.base) + 1 :]] = hashlib.sha256(stream.read()).hexdigest()
    return found


@pytest.fixture(scope="module")
def s3_run(tmp_path_factory, simulator_url):
    with services.s3() as s3:
        mp = pytest.MonkeyPatch()
        for key, value in s3.env("lake").items():
            mp.setenv(key, value)
        httpx.delete(f"{simulator_url}/_sim/faults")
        httpx.post(f"{simulator_url}/_sim/clock", json={"reset": True})
        settings, defs, results = run_pipeline(tmp_path_factory.mktemp("s3-clean"), simulator_url, mp)
        assert all(r.success for r in results)
        lake = lake_store(settings)
        assert isinstance(lake, ObjectLake) and not settings.lake_root.exists()
        yield settings, defs, lake, marts(settings.published_db)
        mp.undo()


def test_faults_at_a_realistic_rate_leave_the_marts_identical(s3_run, tmp_path, simulator_url, monkeypatch):
    _, _, lake, expected = s3_run
    monkeypatch.setenv("NORDLEDGER_LAKE_URL", lake.url + "-faulted")  # a lake of its own in the same bucket
    httpx.post(f"{simulator_url}/_sim/faults", json={"mode": {"rate": 0.12, "seed": 7, "slow_seconds": 1.5}})
    try:
        settings, _, results = run_pipeline(tmp_path, simulator_url, monkeypatch)
        injected = httpx.get(f"{simulator_url}/_sim/faults").json()["injected"]
    finally:
        httpx.delete(f"{simulator_url}/_sim/faults")
    assert all(r.success for r in results)
    assert sum(i["count"] for i in injected) >= 10 and len({i["kind"] for i in injected}) >= 5, injected
    assert marts(settings.published_db) == expected


def test_a_fault_that_never_clears_fails_cleanly_and_keeps_stored_objects(s3_run, simulator_url):
    _, defs, lake, _ = s3_run
    before = digests(lake)
    httpx.post(
        f"{simulator_url}/_sim/faults", json={"mode": {"rate": 1.0, "seed": 1, "kinds": ["503"], "apis": ["fennoa"]}}
    )
    try:
        with dg.instance_for_test() as instance:
            result = defs.resolve_job_def("fennoa_fiscal_year_job").execute_in_process(
                instance=instance,
                raise_on_error=False,
                partition_key=dg.MultiPartitionKey({"company": "aurora", "fiscal_year": "2026"}),
            )
    finally:
        httpx.delete(f"{simulator_url}/_sim/faults")
    assert not result.success
    assert digests(lake) == before


def test_sigkill_during_an_extract_leaves_every_object_and_a_rerun_heals(s3_run, simulator_url):
    _, defs, lake, expected = s3_run
    before = digests(lake)
    slow = 60
    httpx.post(f"{simulator_url}/_sim/faults", json={"api": "fennoa", "status": 200, "delay": 0.4, "count": slow})
    process = subprocess.Popen(
        [sys.executable, "-c", KILLED_EXTRACT],
        env=dict(os.environ),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 90
        while httpx.get(f"{simulator_url}/_sim/faults").json()["queued"].get("fennoa", 0) > slow - 15:
            assert process.poll() is None and time.monotonic() < deadline, "the extract never got under way"
            time.sleep(0.1)
        process.send_signal(signal.SIGKILL)  # 15 slow pages in: partitions are being read and written
        process.wait(timeout=30)
    finally:
        process.kill()
        httpx.delete(f"{simulator_url}/_sim/faults")
    assert digests(lake) == before  # readers never see half a partition; nothing changed
    with dg.instance_for_test() as instance:
        assert (
            defs.resolve_job_def("fennoa_fiscal_year_job")
            .execute_in_process(
                instance=instance, partition_key=dg.MultiPartitionKey({"company": "aurora", "fiscal_year": "2026"})
            )
            .success
        )
        assert defs.resolve_job_def("warehouse_job").execute_in_process(instance=instance).success
    assert digests(lake) == before  # no staging object left; the same partitions, byte for byte
    assert marts(s3_run[0].published_db) == expected
