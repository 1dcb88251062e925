"""Crash recovery for runs on this machine: a run whose worker process died (SIGKILL, OOM kill, a power
cut) is marked failed and its pool slots are freed, so the next run of its pool does not wait forever.

Dagster's run monitoring (on in both instance configs) enforces each job's maximum runtime and frees
the slots of runs that ended; it cannot tell that a local run worker died, because the default run
launcher has no worker health check. That is what this adds, for the local default only: it reads the
pid the run's own engine events report and asks the operating system whether it still runs. With
another run launcher (Celery, Kubernetes) workers live elsewhere, and run monitoring is the authority.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import dagster as dg

IN_PROGRESS = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]


@dataclass(frozen=True)
class Reaped:
    run_id: str
    job_name: str
    pid: int
    freed_slots: int  # pools in which the run held a slot


def _worker_pid(instance: dg.DagsterInstance, run_id: str) -> int | None:
    """The pid of the process executing the run's steps, from its latest engine event that names one."""
    for record in reversed(instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT)):
        event = record.dagster_event
        data = event.event_specific_data if event is not None else None
        pid = (getattr(data, "metadata", None) or {}).get("pid")
        if pid is not None and str(pid.value).isdigit():
            return int(pid.value)
    return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reap_dead_runs(instance: dg.DagsterInstance) -> list[Reaped]:
    """Fail every in-progress run whose local worker is gone, and free the pool slots it held."""
    if not isinstance(instance.run_launcher, dg.DefaultRunLauncher):
        return []
    reaped = []
    for record in instance.get_run_records(filters=dg.RunsFilter(statuses=IN_PROGRESS)):
        run = record.dagster_run
        pid = _worker_pid(instance, run.run_id)
        if pid is None or _alive(pid):
            continue  # not started executing yet (start timeouts are run monitoring's), or still running
        instance.report_run_failed(
            run, f"The run's worker process (pid {pid}) is gone; marked failed and its pool slots freed."
        )
        storage = instance.event_log_storage
        held = sum(
            run.run_id in storage.get_concurrency_info(pool).active_run_ids for pool in storage.get_concurrency_keys()
        )
        storage.free_concurrency_slots_for_run(run.run_id)
        reaped.append(Reaped(run.run_id, run.job_name, pid, held))
    return reaped


def reaper_sensor() -> dg.SensorDefinition:
    @dg.sensor(
        name="dead_run_reaper",
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Marks failed any run whose local worker process died and frees its pool slots, so a "
        "killed run never holds an API's or the warehouse's pool.",
    )
    def dead_run_reaper(context: dg.SensorEvaluationContext) -> dg.SkipReason:
        reaped = reap_dead_runs(context.instance)
        for r in reaped:
            context.log.warning(f"run {r.run_id} ({r.job_name}): worker pid {r.pid} gone; {r.freed_slots} slots freed")
        return dg.SkipReason(f"{len(reaped)} dead runs reaped" if reaped else "no dead runs")

    return dead_run_reaper
