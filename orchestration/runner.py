"""Run every job of a pipeline once, over all its partitions, in process: the demo, chaos, bench and
end-to-end tests all drive the real definitions through this."""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import dagster as dg

from assets.lake import PRIVATE, ensure_dir
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


def materialize_all(
    pipeline: Pipeline, instance: dg.DagsterInstance, log: Callable[[str], object] = print
) -> list[dg.ExecuteInProcessResult]:
    """Every extract job over all its partitions, the bank jobs, then the warehouse job.

    A failed job does not stop the others: one company with wrong or missing credentials fails its
    own partitions, and every other company is still extracted and built (its failure is logged).
    """
    jobs = pipeline.jobs
    results = []
    for handle in [*jobs.extract, *jobs.bank, jobs.warehouse]:
        for dead in reap_dead_runs(instance):  # a killed earlier run must not hold this job's pool
            log(f"  run {dead.run_id[:8]} ({dead.job_name}) had died (pid {dead.pid}): marked failed, slots freed")
        job = pipeline.defs.resolve_job_def(handle.name)
        tags = range_tags(job.partitions_def) if job.partitions_def is not None else {}
        started = time.monotonic()
        run_id = str(uuid.uuid4())
        with quiet_stdout(pipeline.settings, run_id):
            result = job.execute_in_process(
                instance=instance, tags=tags, run_id=run_id, raise_on_error=False, run_config=QUIET
            )
        results.append(result)
        log(
            f"  {job.name:<28} {'ok' if result.success else 'FAILED':<6} {time.monotonic() - started:6.1f} s  "
            f"run {result.run_id[:8]}"
        )
        if not result.success:
            for event in result.all_events:
                error = getattr(event.event_specific_data, "error", None) if event.is_failure else None
                if error is not None:
                    for line in error.message.strip().splitlines()[:4]:
                        log(f"    {event.step_key}: {line}")
    return results
