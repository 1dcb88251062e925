"""Asset jobs, built once and handed to schedules and sensors as handles (never looked up by name).

Per ERP: a reference job (company partitions) and a fiscal-year job (company x fiscal year); the bank
jobs when any company has a bank connection; the warehouse build + publish; the two op jobs of
`notices`; and `sync_job`, which syncs companies chosen by name, ERP and fiscal year.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import dagster as dg

from orchestration.notices import notice_job, sync_now_job
from orchestration.sync_job import sync_job

# The longest each kind of run may take before run monitoring stops it (seconds, as the tag wants text).
# A fiscal-year backfill of a large office at Procountor's 20 requests/s is the long pole.
MAX_RUNTIME = {"extract": 6 * 3600, "bank": 3600, "warehouse": 2 * 3600}


# Each ERP's jobs carry it: the production run queue runs one run per ERP at a time (dagster.prod.yaml).
ERP_TAG = "nordledger/erp"


def _runtime(kind: str) -> dict[str, str]:
    return {"dagster/max_runtime": str(MAX_RUNTIME[kind])}


if TYPE_CHECKING:  # what define_asset_job returns; Dagster exports no public name for it
    from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition as Job


@dataclass(frozen=True)
class ErpJobs:
    erp: str
    reference: Job | None
    fiscal_year: Job | None

    @property
    def all(self) -> list[Job]:
        return [j for j in (self.reference, self.fiscal_year) if j is not None]


@dataclass(frozen=True)
class Jobs:
    erps: dict[str, ErpJobs]
    warehouse: Job
    bank_accounts: Job | None = None
    bank_transactions: Job | None = None
    notice: dg.JobDefinition = field(default_factory=lambda: notice_job)
    sync_now: dg.JobDefinition = field(default_factory=lambda: sync_now_job)
    sync: dg.JobDefinition = field(default_factory=lambda: sync_job)

    @property
    def extract(self) -> list[Job]:
        """Every ERP extract job, reference jobs before fiscal-year jobs within an ERP."""
        return [job for erp in sorted(self.erps) for job in self.erps[erp].all]

    @property
    def fiscal_year(self) -> list[Job]:
        return [j.fiscal_year for j in self.erps.values() if j.fiscal_year is not None]

    @property
    def bank(self) -> list[Job]:
        return [j for j in (self.bank_accounts, self.bank_transactions) if j is not None]

    @property
    def all(self) -> list[Job | dg.JobDefinition]:
        return [*self.extract, *self.bank, self.warehouse, self.notice, self.sync_now, self.sync]


def erp_jobs(erp: str, title: str, reference: list[dg.AssetsDefinition], fiscal: list[dg.AssetsDefinition]) -> ErpJobs:
    return ErpJobs(
        erp,
        reference=dg.define_asset_job(
            f"{erp}_reference_job",
            selection=dg.AssetSelection.assets(*reference),
            tags={**_runtime("extract"), ERP_TAG: erp},
            description=f"{title}: reference data per company (chart of accounts, fiscal years, dimensions, ...). "
            f"Pick the companies as partitions, or from a shell: nordledger sync --erp {erp} (or COMPANY...)",
        )
        if reference
        else None,
        fiscal_year=dg.define_asset_job(
            f"{erp}_fiscal_year_job",
            selection=dg.AssetSelection.assets(*fiscal),
            tags={**_runtime("extract"), ERP_TAG: erp},
            description=f"{title}: ledger and balances per company and fiscal year (partition keys company|year). "
            f"From a shell without partition keys: nordledger sync --erp {erp} --fiscal-years 2026, "
            "or nordledger sync COMPANY",
        )
        if fiscal
        else None,
    )


def warehouse_job(*assets: dg.AssetsDefinition) -> Job:
    return dg.define_asset_job(
        "warehouse_job",
        selection=dg.AssetSelection.assets(*assets),
        tags=_runtime("warehouse"),
        description="dbt build of every model and test, then publish for BI",
    )


def bank_jobs(accounts: dg.AssetsDefinition, transactions: dg.AssetsDefinition) -> tuple[Job, Job]:
    return (
        dg.define_asset_job(
            "bank_accounts_job",
            selection=dg.AssetSelection.assets(accounts),
            tags=_runtime("bank"),
            description="Bank accounts of every connection",
        ),
        dg.define_asset_job(
            "bank_transactions_job",
            selection=dg.AssetSelection.assets(transactions),
            tags=_runtime("bank"),
            description="Bank transactions, re-read with an overlap; vanished ones removed",
        ),
    )
