"""Sensors: bank-consent expiry, rejected or missing credentials, fiscal-year discovery, "sync now",
and the warehouse build once new extracts have landed.

Every alert is a run of the notice job whose log says what happened and what to do, so it shows in
the UI's run list and can be routed to Slack or e-mail by a run-status hook.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import dagster as dg

from assets.partitions import COMPANY, FISCAL_YEAR, fiscal_year_keys
from connectors import registry
from connectors.companies import CompaniesConfig
from connectors.settings import Settings
from orchestration.consent_check import consent_evaluation
from orchestration.jobs import Jobs
from orchestration.notices import SYNC_NOW_KEY, notice_request
from orchestration.recovery import reaper_sensor
from orchestration.refresh import (
    Consent,
    bank_requests,
    company_fiscal_years,
    consents,
    credential_fingerprint,
    erp_requests,
    is_paused,
    open_fiscal_year_keys,
    pause,
    pause_record,
    range_request,
)

if TYPE_CHECKING:
    from orchestration.jobs import Job

# A connector error names the source and company; these causes mean a person must fix the credentials.
CREDENTIAL_FAILURE = re.compile(r"(\w+) company '([a-z][a-z0-9_]*)'[^\n]*?(authentication failed|credentials missing)")


def _consent_notice(consent: Consent) -> dg.RunRequest | None:
    expires = consent.expires.isoformat() if consent.expires else None
    when = f"{consent.expires:%Y-%m-%d %H:%M} UTC" if consent.expires else "-"
    if consent.state == "warning":
        message = (
            f"bank connection {consent.connection_id} consent expires {when}; re-authorize with: {consent.command}"
        )
        return notice_request(
            "consent_expiring", consent.company_id, message, f"consent-warning:{consent.connection_id}:{expires}"
        )
    if consent.state in ("expired", "missing"):
        what = "expired " + when if consent.state == "expired" else "was never given"
        message = (
            f"bank connection {consent.connection_id} consent {what}; bank syncs for it are stopped until you "
            f"run: {consent.command}"
        )
        return notice_request(
            "consent_expired", consent.company_id, message, f"consent-expired:{consent.connection_id}:{expires}"
        )
    return None


def consent_sensor(
    settings: Settings, config: CompaniesConfig, jobs: Jobs, bank_job: Job, clock: Callable[[], datetime]
) -> dg.SensorDefinition:
    @dg.sensor(
        name="bank_consent_expiry",
        minimum_interval_seconds=3600,
        default_status=dg.DefaultSensorStatus.RUNNING,
        jobs=[jobs.notice, bank_job],
        description="Warns before a bank consent expires, stops bank syncs at expiry, and fills the "
        "gap once the connection is re-authorized.",
    )
    def bank_consent_expiry(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        previous = json.loads(context.cursor) if context.cursor else {}
        cursor, requests = {}, []
        found = consents(settings, config, clock())
        for consent in found:
            expires = consent.expires.isoformat() if consent.expires else None
            before = previous.get(consent.connection_id, {})
            cursor[consent.connection_id] = {"state": consent.state, "expires": expires}
            notice = _consent_notice(consent)
            if notice is not None:
                requests.append(notice)
            elif before.get("state") in ("expired", "missing", "warning") and before.get("expires") != expires:
                # re-authorized: one sync from the newest stored transaction (minus the overlap) onwards
                years = open_fiscal_year_keys(settings, config, config.by_id[consent.company_id])
                if years:
                    requests.append(
                        range_request(
                            bank_job.name,
                            consent.company_id,
                            years,
                            f"consent-refill:{consent.connection_id}:{expires}",
                            {"nordledger/reason": "re-authorized: fill the gap"},
                        )
                    )
            if consent.state != "ok":
                when = f"{consent.expires:%Y-%m-%d %H:%M} UTC" if consent.expires else "-"
                context.log.warning(f"{consent.company_id}/{consent.connection_id}: consent {consent.state} ({when})")
        return dg.SensorResult(
            run_requests=requests,
            cursor=json.dumps(cursor, sort_keys=True),
            asset_events=[consent_evaluation(found)],  # the asset's bank_consent check, without a run
        )

    return bank_consent_expiry


def credential_sensor(settings: Settings, config: CompaniesConfig, jobs: Jobs) -> dg.RunFailureSensorDefinition:
    @dg.run_failure_sensor(
        name="credential_failures",
        monitored_jobs=jobs.extract,
        request_job=jobs.notice,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="One alert per company whose ERP rejects its credentials or whose credential variables "
        "are unset; scheduling for the company pauses until the credentials change.",
    )
    def credential_failures(context: dg.RunFailureSensorContext) -> Iterator[dg.RunRequest]:
        messages = [
            error.message
            for e in context.instance.all_logs(context.dagster_run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE)
            if e.dagster_event is not None
            and (error := getattr(e.dagster_event.event_specific_data, "error", None)) is not None
        ]
        found = sorted({m.groups() for text in messages for m in CREDENTIAL_FAILURE.finditer(text)})
        for source, company_id, cause in found:
            company = config.by_id.get(company_id)
            if company is None:
                continue
            fingerprint = credential_fingerprint(settings, company)
            record = pause_record(context.instance, company_id)
            if record is not None and record["fingerprint"] == fingerprint:
                continue  # already alerted for these credentials
            variables = ", ".join(company.credentials.values())
            if cause == "credentials missing":
                reason, kind = f"{source} credentials of company {company_id} are not set", "credentials_missing"
            else:
                reason, kind = f"{source} rejected the credentials of company {company_id}", "credentials_rejected"
            pause(context.instance, company_id, fingerprint, reason)
            yield notice_request(
                kind,
                company_id,
                f"{reason}; scheduling for it is paused until the credential environment variables "
                f"({variables}) change.",
                f"credentials:{company_id}:{fingerprint}",
            )

    return credential_failures


def discovery_sensor(settings: Settings, config: CompaniesConfig, jobs: Jobs) -> dg.SensorDefinition:
    @dg.sensor(
        name="fiscal_year_discovery",
        minimum_interval_seconds=6 * 3600,
        default_status=dg.DefaultSensorStatus.RUNNING,
        jobs=jobs.fiscal_year,
        description="A fiscal year the ERP has opened but we have not extracted yet is materialized.",
    )
    def fiscal_year_discovery(context: dg.SensorEvaluationContext) -> list[dg.RunRequest]:
        requests = []
        valid = set(fiscal_year_keys(config))
        for erp, erp_jobs in sorted(jobs.erps.items()):
            endpoints = registry.erp(erp).endpoints_in("fiscal_year")
            if erp_jobs.fiscal_year is None or not endpoints:
                continue
            done = set(context.instance.get_materialized_partitions(dg.AssetKey(["raw", erp, endpoints[0].name])))
            for company in config.for_erp(erp):
                if is_paused(context.instance, settings, company):
                    continue  # its credentials were rejected or are missing: nothing goes to the ERP
                for year in company_fiscal_years(settings, company):
                    key = str(year["fiscal_year"])
                    partition = dg.MultiPartitionKey({COMPANY: company.id, FISCAL_YEAR: key})
                    if key in valid and partition not in done and str(partition) not in done:
                        requests.append(
                            dg.RunRequest(
                                job_name=erp_jobs.fiscal_year.name,
                                partition_key=partition,
                                run_key=f"discovered:{company.id}:{key}",
                            )
                        )
                    elif key not in valid:
                        context.log.warning(f"{company.id}: fiscal year {key} is beyond the configured keys")
        return requests

    return fiscal_year_discovery


def sync_now_sensor(
    settings: Settings, config: CompaniesConfig, jobs: Jobs, clock: Callable[[], datetime]
) -> dg.SensorDefinition:
    @dg.sensor(
        name="sync_now",
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        jobs=[*jobs.extract, *([jobs.bank_transactions] if jobs.bank_transactions is not None else [])],
        description="Launches the runs that sync_now_job asked for.",
    )
    def sync_now(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
        stamp = context.instance.run_storage.get_cursor_values({SYNC_NOW_KEY}).get(SYNC_NOW_KEY)
        if not stamp or stamp == context.cursor:
            return dg.SkipReason("no sync requested")
        key = f"now:{stamp}"
        requests = [
            r
            for _, erp_jobs in sorted(jobs.erps.items())
            for r in erp_requests(settings, config, context.instance, erp_jobs, key)
        ]
        if jobs.bank_transactions is not None:
            requests += bank_requests(settings, config, context.instance, jobs.bank_transactions, key, clock())
        return dg.SensorResult(run_requests=requests, cursor=stamp)

    return sync_now


PUBLISHED = dg.AssetKey(["published", "warehouse"])
_BUSY = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


def extract_keys(config: CompaniesConfig) -> list[dg.AssetKey]:
    """Every raw asset the warehouse reads: each configured ERP's endpoints and the bank data."""
    keys = [dg.AssetKey(["raw", erp, e.name]) for erp in config.erps for e in registry.erp(erp).endpoints]
    if config.bank_connections():
        keys += [dg.AssetKey(["raw", "nag", "bank_accounts"]), dg.AssetKey(["raw", "nag", "bank_transactions"])]
    return keys


def warehouse_sensor(config: CompaniesConfig, jobs: Jobs) -> dg.SensorDefinition:
    raw = extract_keys(config)
    # a sync_job run builds the warehouse itself once its extracts are done
    watched = [*(j.name for j in [*jobs.extract, *jobs.bank]), jobs.sync.name]

    @dg.sensor(
        name="warehouse_after_extracts",
        minimum_interval_seconds=300,
        default_status=dg.DefaultSensorStatus.RUNNING,
        jobs=[jobs.warehouse],
        description="Rebuilds and publishes the warehouse once extracts newer than the published "
        "warehouse have landed and no extract run is queued or running (the nightly runs end in one build).",
    )
    def warehouse_after_extracts(context: dg.SensorEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        def newest(keys: list[dg.AssetKey]) -> int:
            records = context.instance.get_asset_records(keys)
            return max(
                (
                    r.asset_entry.last_materialization_record.storage_id
                    for r in records
                    if r.asset_entry.last_materialization_record is not None
                ),
                default=0,
            )

        landed, published = newest(raw), newest([PUBLISHED])
        if landed <= published:
            return dg.SkipReason("the published warehouse is newer than every extract")
        busy = context.instance.get_runs(dg.RunsFilter(statuses=_BUSY))
        running = sorted({r.job_name for r in busy if r.job_name in watched})
        if running:
            return dg.SkipReason(f"waiting for runs to finish: {', '.join(running)}")
        return dg.RunRequest(run_key=f"warehouse:{landed}")

    return warehouse_after_extracts


def build_sensors(
    settings: Settings, config: CompaniesConfig, jobs: Jobs, now: Callable[[], datetime] | None = None
) -> list[dg.SensorDefinition]:
    """Every sensor for this configuration; `now` lets tests move the clock."""
    clock = now or (lambda: datetime.now(UTC))
    sensors: list[dg.SensorDefinition] = []
    if jobs.bank_transactions is not None:
        sensors.append(consent_sensor(settings, config, jobs, jobs.bank_transactions, clock))
    sensors += [
        reaper_sensor(),
        credential_sensor(settings, config, jobs),
        discovery_sensor(settings, config, jobs),
        sync_now_sensor(settings, config, jobs, clock),
        warehouse_sensor(config, jobs),
    ]
    return sensors
