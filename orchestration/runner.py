"""Run every job of a pipeline once, over all its partitions: the demo, chaos, bench and end-to-end
tests all drive the real definitions through this. `materialize_all` runs the jobs one after another
in this process; `materialize_concurrently` runs each ERP's chain of jobs in its own process at the
same time, as the run queue does in production (each ERP has its own API pool), then the bank jobs
and the warehouse."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias

import dagster as dg
from dagster._core.instance.ref import InstanceRef  # what DagsterInstance.get_ref() returns; not exported

from assets.lake import PRIVATE, ensure_dir
from assets.transform import start_parse
from connectors.settings import Settings
from orchestration.definitions import Pipeline
from orchestration.recovery import reap_dead_runs
from orchestration.refresh import RANGE_END, RANGE_START

# Every event still lands in the instance's event log (the UI shows it); the terminal gets warnings only.
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


@contextlib.contextmanager
def quiet_stdout(settings: Settings, run_id: str) -> Iterator[Path]:
    """Send this process's stdout to `<warehouse dir>/logs/<run id>.log` for the block: dbt's lines
    (dagster-dbt writes each one to stdout) stay out of the terminal and the event log keeps the rest."""
    path = ensure_dir(settings.warehouse_dir / "logs") / f"{run_id}.log"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE.file)  # owner-only, like the build file
    with os.fdopen(fd, "a", encoding="utf-8") as fh, contextlib.redirect_stdout(fh):
        yield path
    if path.stat().st_size == 0:
        path.unlink()


def range_tags(partitions_def: dg.PartitionsDefinition) -> dict[str, str]:
    """Tags for one run over every partition key (the assets' single-run backfill policy)."""
    keys = partitions_def.get_partition_keys()
    return {RANGE_START: keys[0], RANGE_END: keys[-1]}


@dataclass(frozen=True)
class RunSummary:
    """What a run leaves its caller (a run in another process leaves only this; the rest is in the
    instance's event log)."""

    job_name: str
    run_id: str
    success: bool
    seconds: float
    errors: tuple[str, ...]


Log = Callable[[str], object]
# A run in this process (`execute_in_process`) or one whose executor runs the steps elsewhere (`execute_job`)
RunResult: TypeAlias = dg.ExecuteInProcessResult | dg.JobExecutionResult


def _execute(pipeline: Pipeline, instance: dg.DagsterInstance, job_name: str, log: Log) -> tuple[RunResult, RunSummary]:
    """One run of the job over all its partitions (its steps in this process unless the executor sends them
    elsewhere), after freeing dead runs' slots."""
    for dead in reap_dead_runs(instance):  # a killed earlier run must not hold this job's pool
        log(f"  run {dead.run_id[:8]} ({dead.job_name}) had died (pid {dead.pid}): marked failed, slots freed")
    job = pipeline.defs.resolve_job_def(job_name)
    tags = range_tags(job.partitions_def) if job.partitions_def is not None else {}
    started, run_id = time.monotonic(), str(uuid.uuid4())
    with quiet_stdout(pipeline.settings, run_id):
        if pipeline.settings.executor == "in_process":
            result: RunResult = job.execute_in_process(
                instance=instance, tags=tags, run_id=run_id, raise_on_error=False, run_config=QUIET
            )
        else:  # the job's own executor (processes, Celery workers) runs the steps, rebuilt from the environment
            launched = dg.build_reconstructable_job(
                "orchestration.definitions", "job_for_launch", reconstructable_args=(job_name,)
            )
            with dg.execute_job(launched, instance, run_config=QUIET, tags=tags, raise_on_error=False) as result:
                run_id = result.run_id
    errors = tuple(
        f"{event.step_key}: {line}"
        for event in result.all_events
        if event.is_failure and (error := getattr(event.event_specific_data, "error", None)) is not None
        for line in error.message.strip().splitlines()[:4]
    )
    return result, RunSummary(job_name, run_id, result.success, time.monotonic() - started, errors)


def _report(run: RunSummary, log: Log) -> None:
    log(f"  {run.job_name:<28} {'ok' if run.success else 'FAILED':<6} {run.seconds:6.1f} s  run {run.run_id[:8]}")
    for line in run.errors:
        log(f"    {line}")


def materialize_all(pipeline: Pipeline, instance: dg.DagsterInstance, log: Log = print) -> list[RunResult]:
    """Every extract job over all its partitions, the bank jobs, then the warehouse job.

    A failed job does not stop the others: one company with wrong or missing credentials fails its
    own partitions, and every other company is still extracted and built (its failure is logged).
    """
    parse = start_parse(pipeline.settings)  # dbt's parse runs while the ERPs are read
    results = []
    for handle in pipeline.jobs.extract:
        result, summary = _execute(pipeline, instance, handle.name, log)
        _report(summary, log)
        results.append(result)
    return results + [result for result, _ in _bank_and_warehouse(pipeline, instance, parse, log)]


def _bank_and_warehouse(
    pipeline: Pipeline, instance: dg.DagsterInstance, parse: subprocess.Popen[bytes], log: Log
) -> list[tuple[RunResult, RunSummary]]:
    """The bank jobs, then the warehouse once the background dbt parse (`start_parse`) has finished:
    both write the warehouse's dbt target directory."""
    done = []
    for handle in [*pipeline.jobs.bank, pipeline.jobs.warehouse]:
        if handle is pipeline.jobs.warehouse:
            parse.wait()
        done.append(_execute(pipeline, instance, handle.name, log))
        _report(done[-1][1], log)
    return done


def _run_chain(instance_ref: InstanceRef, job_names: list[str]) -> list[RunSummary]:
    """In a fresh process: the definitions as the environment configures them, one job after another."""
    from connectors.settings import load_settings
    from orchestration.definitions import build_pipeline

    pipeline = build_pipeline(load_settings())
    with dg.DagsterInstance.from_ref(instance_ref) as instance:
        return [_execute(pipeline, instance, name, log=lambda _: None)[1] for name in job_names]


def materialize_concurrently(pipeline: Pipeline, instance: dg.DagsterInstance, log: Log = print) -> list[RunSummary]:
    """Each ERP's reference and fiscal-year jobs in a process of its own, all ERPs at once (their APIs'
    pools are separate, so nothing waits on another ERP's limit); then the bank jobs, which read the
    ERPs' fiscal years, and the warehouse. The definitions are rebuilt in each process from the same
    environment, so `pipeline` must be what `build_pipeline(load_settings())` gives here."""
    jobs = pipeline.jobs
    chains = [[j.name for j in jobs.erps[erp].all] for erp in sorted(jobs.erps)]
    summaries: list[RunSummary] = []
    ref = instance.get_ref()
    parse = start_parse(pipeline.settings)
    with ProcessPoolExecutor(len(chains), mp_context=multiprocessing.get_context("spawn")) as pool:
        for future in as_completed([pool.submit(_run_chain, ref, chain) for chain in chains]):
            for run in future.result():
                _report(run, log)
                summaries.append(run)
    return summaries + [summary for _, summary in _bank_and_warehouse(pipeline, instance, parse, log)]
