"""Run every job of a pipeline once, over all its partitions, in process: the demo, chaos, bench and
end-to-end tests all drive the real definitions through this."""

from __future__ import annotations

import time
from collections.abc import Callable

import dagster as dg

from orchestration.definitions import Pipeline
from orchestration.recovery import reap_dead_runs
from orchestration.refresh import RANGE_END, RANGE_START

# Every event still lands in the instance's event log (the UI shows it); the terminal gets warnings only.
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


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
        result = job.execute_in_process(instance=instance, tags=tags, raise_on_error=False, run_config=QUIET)
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
