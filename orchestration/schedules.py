"""Schedules: each ERP's nightly refresh (reference data, then open fiscal years) and the bank sync.

Which runs a tick asks for is decided in `refresh` (paused companies and lapsed consents are left
out); a schedule only says when, and whether this night re-reads open fiscal years in full.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, get_args

import dagster as dg

from connectors import registry
from connectors.companies import CompaniesConfig, Weekday
from connectors.settings import Settings
from orchestration.jobs import ErpJobs, Jobs
from orchestration.refresh import bank_requests, erp_requests

if TYPE_CHECKING:
    from orchestration.jobs import Job

WEEKDAYS = get_args(Weekday)  # in datetime.weekday() order


def _tick_key(context: dg.ScheduleEvaluationContext) -> str:
    when = context.scheduled_execution_time
    return when.isoformat() if when else "manual"


def nightly_schedule(
    settings: Settings, config: CompaniesConfig, erp_jobs: ErpJobs, job: Job, what: str
) -> dg.ScheduleDefinition:
    @dg.schedule(
        name=f"{job.name.removesuffix('_job')}_nightly",
        cron_schedule=config.schedules.erp_cron,
        execution_timezone=config.schedules.timezone,
        job=job,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"Nightly: {what}.",
    )
    def nightly(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest]:
        when = context.scheduled_execution_time
        full = when is not None and WEEKDAYS[when.weekday()] == config.schedules.full_refresh_day
        requests = erp_requests(settings, config, context.instance, erp_jobs, _tick_key(context), incremental=not full)
        return [r for r in requests if r.job_name == job.name]

    return nightly


def bank_sync_schedule(
    settings: Settings, config: CompaniesConfig, job: Job, clock: Callable[[], datetime]
) -> dg.ScheduleDefinition:
    @dg.schedule(
        name="bank_sync",
        cron_schedule=config.schedules.bank_cron,
        execution_timezone=config.schedules.timezone,
        job=job,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Sync bank transactions of every connection whose consent holds.",
    )
    def bank_sync(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest]:
        return bank_requests(settings, config, context.instance, job, _tick_key(context), clock())

    return bank_sync


def build_schedules(
    settings: Settings, config: CompaniesConfig, jobs: Jobs, now: Callable[[], datetime] | None = None
) -> list[dg.ScheduleDefinition]:
    clock = now or (lambda: datetime.now(UTC))
    schedules = []
    for erp, erp_jobs in sorted(jobs.erps.items()):
        title = registry.erp(erp).title
        if erp_jobs.reference is not None:
            what = f"{title} chart of accounts, fiscal years, dimensions"
            schedules.append(nightly_schedule(settings, config, erp_jobs, erp_jobs.reference, what))
        if erp_jobs.fiscal_year is not None:
            what = f"{title} ledger and balances of every fiscal year the ERP has not locked"
            schedules.append(nightly_schedule(settings, config, erp_jobs, erp_jobs.fiscal_year, what))
    if jobs.bank_transactions is not None:
        schedules.append(bank_sync_schedule(settings, config, jobs.bank_transactions, clock))
    return schedules
