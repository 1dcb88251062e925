"""Crash recovery for runs on this machine: a run whose worker process died (SIGKILL, OOM kill, a power
cut) is marked failed and its pool slots are freed, so the next run of its pool does not wait forever.

Dagster's run monitoring (on in both instance configs) enforces each job's maximum runtime and frees
the slots of runs that ended; it cannot tell that a local run worker died, because the default run
launcher has no worker health check. That is what this adds, for the local default only: it reads the
pid the run's own engine events report and asks the operating system whether that process still runs
(and is the same process, not a later one that got the pid). With another run launcher (Celery,
Kubernetes) or shared Postgres storage, runs live on other machines: the reaper does nothing, and run
monitoring is the authority.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from assets.lake import alive

IN_PROGRESS = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]


@dataclass(frozen=True)
class Reaped:
    run_id: str
    job_name: str
    pid: int
    freed_slots: int  # pools in which the run held a slot


def _worker_pid(instance: dg.DagsterInstance, run_id: str) -> tuple[int, float] | None:
    """The pid of the process executing the run's steps and when it said so, from its latest engine
    event that names one (step child processes report theirs as other event types)."""
    for record in reversed(instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT)):
        event = record.dagster_event
        data = event.event_specific_data if event is not None else None
        pid = (getattr(data, "metadata", None) or {}).get("pid")
        if pid is not None and str(pid.value).isdigit():
            return int(pid.value), record.timestamp
    return None


def _started_at(pid: int) -> float | None:
    """When the process with this pid started (epoch seconds), from /proc; None where /proc is not there."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        boot = next(float(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                    if line.startswith("btime"))  # fmt: skip
    except (OSError, StopIteration, IndexError, ValueError):
        return None
    if fields[0] == "Z":  # a zombie: exited, not yet collected
        return float("inf")
    return boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")


def worker_gone(pid: int, reported_at: float) -> bool:
    """The run's worker is gone: no such process, or the pid now belongs to a process that started
    after the run reported it (the pid was reused), or it is a zombie."""
    if not alive(pid):
        return True
    started = _started_at(pid)
    return started is not None and started > reported_at + 1.0


def _single_machine(instance: dg.DagsterInstance) -> bool:
    """Every run of this instance runs on this machine: the local default (default run launcher and
    SQLite storage). With Postgres, runs of other hosts share the storage and their pids mean nothing here."""
    storage = type(instance.run_storage).__name__
    return isinstance(instance.run_launcher, dg.DefaultRunLauncher) and storage.startswith(("Sqlite", "InMemory"))


def reap_dead_runs(instance: dg.DagsterInstance) -> list[Reaped]:
    """Fail every in-progress run whose local worker is gone, and free the pool slots it held."""
    if not _single_machine(instance):
        return []
    reaped = []
    for record in instance.get_run_records(filters=dg.RunsFilter(statuses=IN_PROGRESS)):
        run = record.dagster_run
        worker = _worker_pid(instance, run.run_id)
        if worker is None or not worker_gone(*worker):
            continue  # not started executing yet (start timeouts are run monitoring's), or still running
        pid = worker[0]
        current = instance.get_run_by_id(run.run_id)
        if current is None or current.status not in IN_PROGRESS:
            continue  # it finished between the listing and the check
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
