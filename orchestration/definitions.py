"""Assembles the code location: assets, checks, jobs and resources. No logic lives here."""

from __future__ import annotations

import dagster as dg
from dagster_dbt import DbtCliResource

from assets.bank import build_bank_assets
from assets.extract.catalogue import endpoints
from assets.extract.factory import build_extract_asset
from assets.publish import build_publish_asset
from assets.transform import build_dbt_assets, dbt_executable, dbt_project
from orchestration.automation import build_automation, notice_job, sync_now_job
from orchestration.companies import load_companies
from orchestration.jobs import bank_jobs, extract_jobs, warehouse_job
from orchestration.partitions import (
    bank_company_partitions,
    bank_fiscal_year_partitions,
    company_fiscal_year_partitions,
    company_partitions,
)
from orchestration.resources import BankClients, ErpClients, Lake, Warehouse
from orchestration.settings import Settings, load_settings


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    settings = settings or load_settings()
    config = load_companies(settings.companies_file)

    extract_assets, jobs = [], []
    for erp in config.erps:
        by_company, by_year = company_partitions(config, erp), company_fiscal_year_partitions(config, erp)
        reference = [build_extract_asset(e, by_company) for e in endpoints(erp) if e.scope == "company"]
        fiscal = [build_extract_asset(e, by_year) for e in endpoints(erp) if e.scope == "fiscal_year"]
        extract_assets += reference + fiscal
        jobs += extract_jobs(erp, reference, fiscal)

    if config.bank_connections():
        bank = build_bank_assets(config, bank_company_partitions(config), bank_fiscal_year_partitions(config))
        extract_assets += bank
        jobs += bank_jobs(*bank)

    models = build_dbt_assets(config, settings)
    publish = build_publish_asset([k for k in models.keys if k.path[0] == "marts"])
    jobs.append(warehouse_job(models, publish))
    schedules, sensors = build_automation(settings, config, {job.name: job for job in jobs})

    return dg.Definitions(
        assets=[*extract_assets, models, publish],
        jobs=[*jobs, notice_job, sync_now_job],
        schedules=schedules,
        sensors=sensors,
        resources={
            "erp": ErpClients(
                companies_file=str(settings.companies_file),
                http_timeout=settings.http_timeout,
                http_max_attempts=settings.http_max_attempts,
                http_base_delay=settings.http_base_delay,
            ),
            "bank": BankClients(
                companies_file=str(settings.companies_file),
                secrets_dir=str(settings.secrets_dir),
                http_timeout=settings.http_timeout,
                http_max_attempts=settings.http_max_attempts,
                http_base_delay=settings.http_base_delay,
            ),
            "lake": Lake(root=str(settings.lake_root)),
            "dbt": DbtCliResource(
                project_dir=dbt_project(settings.dbt_target),
                target=settings.dbt_target,
                dbt_executable=dbt_executable(),
            ),
            "warehouse": Warehouse(build_db=str(settings.build_db), published_db=str(settings.published_db)),
        },
    )


defs = build_definitions()
