"""What a refresh should run: the run requests shared by the schedules, the sensors and "sync now".

Open fiscal years come from each company's fiscal-year extract in the lake (the ERP's own dates and
locks): every fiscal year the ERP has not locked is refreshed, which is the open one plus the
previous one until it is locked. Companies paused after an authentication failure and bank
connections whose consent has lapsed are left out.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg

from assets.extract.incremental import INCREMENTAL, REFRESH_TAG
from assets.lake import PRIVATE, ensure_dir
from assets.lake_store import lake_store
from assets.partitions import COMPANY, FISCAL_YEAR, fiscal_year_keys
from connectors.bank import TokenStore, consent_expiry
from connectors.companies import CompaniesConfig, Company
from connectors.settings import Settings, read_secret
from orchestration.jobs import ErpJobs

if TYPE_CHECKING:
    from orchestration.jobs import Job

RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"
PAUSE_PREFIX = "nordledger/paused/"


# -- fiscal years ------------------------------------------------------------------------------------


def company_fiscal_years(settings: Settings, company: Company) -> list[dict]:
    """The company's fiscal years as last extracted: [{fiscal_year, start_date, end_date, is_locked}]."""
    lake = lake_store(settings)
    stored = lake.open_stored(lake.partition(company.erp, "periods", company.id, None))
    if stored is None:
        return []
    return stored.read(columns=["fiscal_year", "start_date", "end_date", "is_locked"]).to_pylist()


def open_fiscal_year_keys(settings: Settings, config: CompaniesConfig, company: Company) -> list[str]:
    valid = set(fiscal_year_keys(config))
    return sorted(
        str(y["fiscal_year"])
        for y in company_fiscal_years(settings, company)
        if not y["is_locked"] and str(y["fiscal_year"]) in valid
    )


def range_request(
    job: str, company: str, years: list[str], run_key: str | None, tags: dict | None = None
) -> dg.RunRequest:
    """One run for a company's fiscal years (a contiguous key range on the fiscal-year dimension)."""
    start = dg.MultiPartitionKey({COMPANY: company, FISCAL_YEAR: min(years)})
    end = dg.MultiPartitionKey({COMPANY: company, FISCAL_YEAR: max(years)})
    return dg.RunRequest(
        job_name=job,
        run_key=run_key,
        tags={RANGE_START: str(start), RANGE_END: str(end), "nordledger/company": company, **(tags or {})},
    )


# -- credential pauses -----------------------------------------------------------------------------------


def _fingerprint_key(settings: Settings) -> bytes:
    path = settings.secrets_dir / "fingerprint.key"
    if not path.exists():
        ensure_dir(path.parent)
        os.chmod(path.parent, PRIVATE.directory)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_bytes(32))
    return path.read_bytes()


def credential_fingerprint(settings: Settings, company: Company) -> str:
    """A keyed hash of the company's current credential values: it changes when they change and
    reveals nothing about them (the key never leaves the secrets directory)."""
    values = json.dumps({k: read_secret(v) or "" for k, v in sorted(company.credentials.items())})
    return hmac.new(_fingerprint_key(settings), values.encode(), hashlib.sha256).hexdigest()[:16]


def pause_record(instance: dg.DagsterInstance, company_id: str) -> dict | None:
    raw = instance.run_storage.get_cursor_values({PAUSE_PREFIX + company_id}).get(PAUSE_PREFIX + company_id)
    return json.loads(raw) if raw else None


def pause(instance: dg.DagsterInstance, company_id: str, fingerprint: str, reason: str) -> None:
    record = {"fingerprint": fingerprint, "since": datetime.now(UTC).isoformat(), "reason": reason}
    instance.run_storage.set_cursor_values({PAUSE_PREFIX + company_id: json.dumps(record)})


def is_paused(instance: dg.DagsterInstance, settings: Settings, company: Company) -> bool:
    """Paused until the credentials change (then the record no longer matches and scheduling resumes)."""
    record = pause_record(instance, company.id)
    return record is not None and record["fingerprint"] == credential_fingerprint(settings, company)


# -- bank consents -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Consent:
    company_id: str
    connection_id: str
    expires: datetime | None
    state: str  # ok | warning | expired | missing

    @property
    def command(self) -> str:
        return f"nordledger bank authorize {self.connection_id}"


def consent_state(expires: datetime | None, now: datetime, warning_days: int) -> str:
    if expires is None:
        return "missing"
    if now >= expires:
        return "expired"
    if now >= expires - timedelta(days=warning_days):
        return "warning"
    return "ok"


def consents(settings: Settings, config: CompaniesConfig, now: datetime) -> list[Consent]:
    out = []
    for company, connection in config.bank_connections():
        tokens = TokenStore(Path(settings.secrets_dir) / "bank" / f"{connection.id}.json").load()
        expires = consent_expiry(tokens, timedelta(days=config.bank.fallback_consent_days))
        out.append(
            Consent(company.id, connection.id, expires, consent_state(expires, now, config.bank.consent_warning_days))
        )
    return out


# -- run requests --------------------------------------------------------------------------------------------


def contiguous_blocks(keys: list[str], chosen: set[str]) -> list[list[str]]:
    """The chosen keys, in order, split wherever an unchosen key lies between them."""
    blocks: list[list[str]] = [[]]
    for k in keys:
        if k in chosen:
            blocks[-1].append(k)
        elif blocks[-1]:
            blocks.append([])
    return [b for b in blocks if b]


def erp_requests(
    settings: Settings,
    config: CompaniesConfig,
    instance: dg.DagsterInstance,
    jobs: ErpJobs,
    key: str,
    incremental: bool = True,
) -> list[dg.RunRequest]:
    """Reference data for every active company of the ERP, and each one's open fiscal years (their
    changes since the last sync where the ERP can tell, unless `incremental` is off)."""
    erp = jobs.erp
    companies = sorted(config.for_erp(erp), key=lambda c: c.id)  # the order of the company partition keys
    active = [c for c in companies if not is_paused(instance, settings, c)]
    requests = []
    if jobs.reference is not None:
        # one run per contiguous block of active companies, so a key range never covers a paused one
        for block in contiguous_blocks([c.id for c in companies], {c.id for c in active}):
            requests.append(
                dg.RunRequest(
                    job_name=jobs.reference.name,
                    run_key=f"{key}:{erp}:reference:{block[0]}",
                    tags={RANGE_START: block[0], RANGE_END: block[-1]},
                )
            )
    for company in active:
        years = open_fiscal_year_keys(settings, config, company)
        if years and jobs.fiscal_year is not None:
            requests.append(
                range_request(
                    jobs.fiscal_year.name,
                    company.id,
                    years,
                    f"{key}:{company.id}",
                    tags={REFRESH_TAG: INCREMENTAL if incremental else "full"},
                )
            )
    return requests


def bank_requests(
    settings: Settings,
    config: CompaniesConfig,
    instance: dg.DagsterInstance,
    job: Job,
    key: str,
    now: datetime,
) -> list[dg.RunRequest]:
    """Bank transactions of each company whose consent still holds, for its open fiscal years."""
    usable = {c.company_id for c in consents(settings, config, now) if c.state in ("ok", "warning")}
    requests = []
    for company in config.companies:
        if company.id in usable and not is_paused(instance, settings, company):
            years = open_fiscal_year_keys(settings, config, company)
            if years:
                requests.append(range_request(job.name, company.id, years, f"{key}:{company.id}:bank"))
    return requests
