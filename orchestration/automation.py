"""Schedules and sensors: nightly ERP refresh, 6-hourly bank sync, consent expiry, credential
failures, fiscal-year discovery and "sync now".

Every alert is a run of a small notice job whose log says what happened and what to do, so it is
visible in the UI's run list and can be routed to Slack or e-mail by a run-status hook.
"""

import json
import re
from datetime import UTC, datetime
from typing import get_args

import dagster as dg

from orchestration.companies import CompaniesConfig, Weekday
from orchestration.partitions import COMPANY, FISCAL_YEAR, fiscal_year_keys
from orchestration.refresh import (
    bank_requests,
    company_fiscal_years,
    consents,
    credential_fingerprint,
    erp_requests,
    pause,
    pause_record,
    range_request,
)
from orchestration.settings import Settings

SYNC_NOW_KEY = "nordledger/sync_now_requested"
WEEKDAYS = get_args(Weekday)  # in datetime.weekday() order
AUTH_FAILURE = re.compile(r"(\w+) company '([a-z][a-z0-9_]*)'[^\n]*authentication failed")


class NoticeConfig(dg.Config):
    kind: str
    company: str
    message: str


@dg.op
def notify(context: dg.OpExecutionContext, config: NoticeConfig) -> None:
    context.log.warning(f"[{config.kind}] {config.company}: {config.message}")


@dg.job(
    description="Tells a person what needs doing: bank consents about to expire or expired, "
    "rejected credentials. Launched by the sensors; its log holds the message."
)
def notice_job():
    notify()


@dg.op
def request_sync(context: dg.OpExecutionContext) -> None:
    stamp = datetime.now(UTC).isoformat()
    context.instance.run_storage.set_cursor_values({SYNC_NOW_KEY: stamp})
    context.log.info("Sync requested: the sync_now sensor launches the runs within a minute.")


@dg.job(description="Sync now: refresh every company's open fiscal years and bank data at once.")
def sync_now_job():
    request_sync()


def _notice(kind: str, company: str, message: str, run_key: str) -> dg.RunRequest:
    return dg.RunRequest(
        job_name="notice_job",
        run_key=run_key,
        tags={"nordledger/notice": kind, "nordledger/company": company},
        run_config={"ops": {"notify": {"config": {"kind": kind, "company": company, "message": message}}}},
    )


def build_automation(settings: Settings, config: CompaniesConfig, jobs: dict, now=None):
    """Schedules and sensors for this configuration, given the jobs by name. `now` lets tests move the clock."""
    clock = now or (lambda: datetime.now(UTC))
    tz = config.schedules.timezone
    schedules, sensors = [], []
    extract_jobs = [job for name, job in jobs.items() if name.endswith(("_reference_job", "_fiscal_year_job"))]

    def nightly_schedule(erp: str, job_name: str, what: str):
        @dg.schedule(
            name=f"{job_name.removesuffix('_job')}_nightly",
            cron_schedule=config.schedules.erp_cron,
            execution_timezone=tz,
            job=jobs[job_name],
            default_status=dg.DefaultScheduleStatus.RUNNING,
            description=f"Nightly: {what}.",
        )
        def nightly(context: dg.ScheduleEvaluationContext):
            when = context.scheduled_execution_time
            key = when.isoformat() if when else "manual"
            full = when is not None and WEEKDAYS[when.weekday()] == config.schedules.full_refresh_day
            return [
                r
                for r in erp_requests(settings, config, context.instance, erp, key, incremental=not full)
                if r.job_name == job_name
            ]

        return nightly

    for erp in config.erps:
        schedules.append(
            nightly_schedule(erp, f"{erp}_reference_job", f"{erp} chart of accounts, fiscal years, dimensions")
        )
        schedules.append(
            nightly_schedule(
                erp, f"{erp}_fiscal_year_job", f"{erp} ledger and balances of every fiscal year the ERP has not locked"
            )
        )

    if config.bank_connections():

        @dg.schedule(
            name="bank_sync",
            cron_schedule=config.schedules.bank_cron,
            execution_timezone=tz,
            job=jobs["bank_transactions_job"],
            default_status=dg.DefaultScheduleStatus.RUNNING,
            description="Sync bank transactions of every connection whose consent holds.",
        )
        def bank_sync(context: dg.ScheduleEvaluationContext):
            key = context.scheduled_execution_time.isoformat() if context.scheduled_execution_time else "manual"
            return bank_requests(settings, config, context.instance, key, clock())

        schedules.append(bank_sync)

        @dg.sensor(
            name="bank_consent_expiry",
            minimum_interval_seconds=3600,
            default_status=dg.DefaultSensorStatus.RUNNING,
            jobs=[notice_job, jobs["bank_transactions_job"]],
            description="Warns before a bank consent expires, stops bank syncs at expiry, and fills the "
            "gap once the connection is re-authorized.",
        )
        def consent_sensor(context: dg.SensorEvaluationContext):
            previous = json.loads(context.cursor) if context.cursor else {}
            cursor, requests = {}, []
            for consent in consents(settings, config, clock()):
                expires = consent.expires.isoformat() if consent.expires else None
                before = previous.get(consent.connection_id, {})
                cursor[consent.connection_id] = {"state": consent.state, "expires": expires}
                when = f"{consent.expires:%Y-%m-%d %H:%M} UTC" if consent.expires else "-"
                if consent.state == "warning":
                    message = (
                        f"bank connection {consent.connection_id} consent expires {when}; "
                        f"re-authorize with: {consent.command}"
                    )
                    requests.append(
                        _notice(
                            "consent_expiring",
                            consent.company_id,
                            message,
                            f"consent-warning:{consent.connection_id}:{expires}",
                        )
                    )
                elif consent.state in ("expired", "missing"):
                    message = (
                        f"bank connection {consent.connection_id} consent "
                        f"{'expired ' + when if consent.state == 'expired' else 'was never given'}; bank syncs "
                        f"for it are stopped until you run: {consent.command}"
                    )
                    requests.append(
                        _notice(
                            "consent_expired",
                            consent.company_id,
                            message,
                            f"consent-expired:{consent.connection_id}:{expires}",
                        )
                    )
                elif before.get("state") in ("expired", "missing", "warning") and before.get("expires") != expires:
                    # re-authorized: one sync from the newest stored transaction (minus the overlap) onwards
                    company = config.by_id[consent.company_id]
                    years = [
                        str(y["fiscal_year"])
                        for y in company_fiscal_years(settings, company)
                        if not y["is_locked"] and str(y["fiscal_year"]) in fiscal_year_keys(config)
                    ]
                    if years:
                        requests.append(
                            range_request(
                                "bank_transactions_job",
                                consent.company_id,
                                years,
                                f"consent-refill:{consent.connection_id}:{expires}",
                                {"nordledger/reason": "re-authorized: fill the gap"},
                            )
                        )
                if consent.state != "ok":
                    context.log.warning(
                        f"{consent.company_id}/{consent.connection_id}: consent {consent.state} ({when})"
                    )
            return dg.SensorResult(run_requests=requests, cursor=json.dumps(cursor, sort_keys=True))

        sensors.append(consent_sensor)

    @dg.run_failure_sensor(
        name="credential_failures",
        monitored_jobs=extract_jobs,
        request_job=notice_job,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="One alert per company whose ERP rejects its credentials; scheduling for the "
        "company pauses until the credentials change.",
    )
    def credential_sensor(context: dg.RunFailureSensorContext):
        messages = [
            e.dagster_event.event_specific_data.error.message
            for e in context.instance.all_logs(context.dagster_run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE)
            if e.dagster_event and e.dagster_event.event_specific_data.error
        ]
        for erp, company_id in sorted({m.groups() for text in messages for m in AUTH_FAILURE.finditer(text)}):
            company = config.by_id.get(company_id)
            if company is None:
                continue
            fingerprint = credential_fingerprint(settings, company)
            record = pause_record(context.instance, company_id)
            if record is not None and record["fingerprint"] == fingerprint:
                continue  # already alerted for these credentials
            pause(context.instance, company_id, fingerprint, f"{erp} rejected the credentials")
            yield _notice(
                "credentials_rejected",
                company_id,
                f"{erp} rejected the credentials of company {company_id}; scheduling for it is paused "
                f"until the credential environment variables ({', '.join(company.credentials.values())}) change.",
                f"credentials:{company_id}:{fingerprint}",
            )

    sensors.append(credential_sensor)

    @dg.sensor(
        name="fiscal_year_discovery",
        minimum_interval_seconds=6 * 3600,
        default_status=dg.DefaultSensorStatus.RUNNING,
        jobs=[job for name, job in jobs.items() if name.endswith("_fiscal_year_job")],
        description="A fiscal year the ERP has opened but we have not extracted yet is materialized.",
    )
    def discovery_sensor(context: dg.SensorEvaluationContext):
        requests = []
        valid = set(fiscal_year_keys(config))
        for erp in config.erps:
            ledger = dg.AssetKey(["raw", erp, "ledger"])
            done = set(context.instance.get_materialized_partitions(ledger))
            for company in config.for_erp(erp):
                for year in company_fiscal_years(settings, company):
                    key = str(year["fiscal_year"])
                    partition = dg.MultiPartitionKey({COMPANY: company.id, FISCAL_YEAR: key})
                    if key in valid and partition not in done and str(partition) not in done:
                        requests.append(
                            dg.RunRequest(
                                job_name=f"{erp}_fiscal_year_job",
                                partition_key=partition,
                                run_key=f"discovered:{company.id}:{key}",
                            )
                        )
                    elif key not in valid:
                        context.log.warning(f"{company.id}: fiscal year {key} is beyond the configured keys")
        return requests

    sensors.append(discovery_sensor)

    @dg.sensor(
        name="sync_now",
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        jobs=[*extract_jobs, *([jobs["bank_transactions_job"]] if "bank_transactions_job" in jobs else [])],
        description="Launches the runs that sync_now_job asked for.",
    )
    def sync_now_sensor(context: dg.SensorEvaluationContext):
        stamp = context.instance.run_storage.get_cursor_values({SYNC_NOW_KEY}).get(SYNC_NOW_KEY)
        if not stamp or stamp == context.cursor:
            return dg.SkipReason("no sync requested")
        requests = [
            r for erp in config.erps for r in erp_requests(settings, config, context.instance, erp, f"now:{stamp}")
        ]
        if config.bank_connections():
            requests += bank_requests(settings, config, context.instance, f"now:{stamp}", clock())
        return dg.SensorResult(run_requests=requests, cursor=stamp)

    sensors.append(sync_now_sensor)

    return schedules, sensors
