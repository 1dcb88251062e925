"""Assembles the code location from the registry's specs and companies.yaml. No logic lives here."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import dagster as dg

from assets.bank import build_bank_assets
from assets.extract.factory import build_extract_asset
from assets.partitions import (
    bank_company_partitions,
    bank_fiscal_year_partitions,
    company_fiscal_year_partitions,
    company_partitions,
)
from assets.publish import build_publish_asset, build_volume_check
from assets.resources import BankClients, ErpClients, Lake, Warehouse
from assets.transform import WarehouseDbt, build_dbt_assets, dbt_executable, dbt_project
from connectors.companies import CompaniesConfig, load_companies
from connectors.settings import DBT_PROJECT_DIR, Settings, load_settings
from orchestration.consent_check import build_consent_check
from orchestration.dagster_env import apply_dagster_env
from orchestration.jobs import Jobs, bank_jobs, erp_jobs, warehouse_job
from orchestration.schedules import build_schedules
from orchestration.sensors import build_sensors

apply_dagster_env()  # this process creates runs too (in-process runs, and a code server's launches)


@dataclass(frozen=True)
class Pipeline:
    """What the definitions are built from, kept for the CLIs and tests that drive them."""

    settings: Settings
    config: CompaniesConfig
    jobs: Jobs
    defs: dg.Definitions


# Every step of an extract run waits on its API's pool (one at a time), dbt runs as its own process and
# the notice jobs are one tiny op: a process per step would only add Dagster's start-up (8-10 s) to each.
EXECUTORS: dict[str, dg.ExecutorDefinition] = {
    "in_process": dg.in_process_executor,
    "multiprocess": dg.multiprocess_executor,
}
# Celery workers (`dagster-celery worker start`, orchestration/instance/celery_worker.yaml) run the steps;
# the broker and result backend (Redis) are read from the environment when a run starts.
CELERY_CONFIG = {"broker": {"env": "NORDLEDGER_CELERY_BROKER"}, "backend": {"env": "NORDLEDGER_CELERY_BACKEND"}}


def executor(name: str) -> dg.ExecutorDefinition:
    """The executor `NORDLEDGER_EXECUTOR` names. Celery's and Kubernetes' (a pod per step, with the run pod's
    image and environment) come from the scale extra and are imported only when chosen."""
    try:
        if name == "celery":
            from dagster_celery import celery_executor

            return celery_executor.configured(CELERY_CONFIG, name="celery")
        if name == "k8s":
            from dagster_k8s import k8s_job_executor

            return k8s_job_executor
    except ImportError as exc:
        raise ImportError(
            f"NORDLEDGER_EXECUTOR={name} needs the scale extra ({exc.name} is not installed): "
            "python -m pip install --require-hashes --no-deps -r requirements/scale.txt"
        ) from exc
    return EXECUTORS[name]


def postgres_target(settings: Settings) -> dict[str, Any]:
    """The Warehouse resource's fields for the marts' PostgreSQL copy (none when it is not configured):
    each field of the settings' MartsPostgres, prefixed."""
    pg = settings.marts_postgres
    return {} if pg is None else {f"postgres_{name}": value for name, value in asdict(pg).items()}


def resources(settings: Settings) -> dict[str, object]:
    return {
        "erp": ErpClients.from_settings(settings),
        "bank": BankClients.from_settings(settings),
        "lake": Lake(
            root=settings.lake_location,
            max_shrink=settings.volume_guard_max_shrink,
            group_read=settings.group_read,
            s3_endpoint=settings.s3_endpoint,
            s3_region=settings.s3_region,
        ),
        "dbt": WarehouseDbt(
            project_dir=str(dbt_project(settings.dbt_target).project_dir),
            profiles_dir=str(DBT_PROJECT_DIR),
            target=settings.dbt_target,
            dbt_executable=dbt_executable(),
        ),
        "warehouse": Warehouse(
            build_db=str(settings.build_db),
            published_db=str(settings.published_db),
            group_read=settings.group_read,
            **postgres_target(settings),
        ),
    }


def build_pipeline(settings: Settings | None = None) -> Pipeline:
    """Every company in companies.yaml gets its assets, whether or not its credential variables are
    set: a company without them fails its own runs at once, naming the variable."""
    settings = settings or load_settings()
    config = load_companies(settings.companies_file, require_env=False)

    extract_assets: list[dg.AssetsDefinition] = []
    per_erp = {}
    for erp in config.erps:
        spec = config.for_erp(erp)[0].spec
        by_company, by_year = company_partitions(config, erp), company_fiscal_year_partitions(config, erp)
        reference = [build_extract_asset(e, by_company) for e in spec.endpoints_in("company")]
        fiscal = [build_extract_asset(e, by_year) for e in spec.endpoints_in("fiscal_year")]
        extract_assets += reference + fiscal
        per_erp[erp] = erp_jobs(erp, spec.title, reference, fiscal)

    bank_accounts = bank_transactions = None
    checks = [build_volume_check(dg.AssetKey(["marts", "fct_gl_entries"]))]
    if config.bank_connections():
        bank = build_bank_assets(config, bank_company_partitions(config), bank_fiscal_year_partitions(config))
        extract_assets += bank
        bank_accounts, bank_transactions = bank_jobs(*bank)
        checks.append(build_consent_check(settings, config))

    models = build_dbt_assets(config, settings)
    publish = build_publish_asset([k for k in models.keys if k.path[0] == "marts"])
    jobs = Jobs(
        erps=per_erp,
        warehouse=warehouse_job(models, publish),
        bank_accounts=bank_accounts,
        bank_transactions=bank_transactions,
    )
    defs = dg.Definitions(
        assets=[*extract_assets, models, publish],
        asset_checks=checks,
        jobs=jobs.all,
        schedules=build_schedules(settings, config, jobs),
        sensors=build_sensors(settings, config, jobs),
        resources=resources(settings),
        executor=executor(settings.executor),
    )
    return Pipeline(settings, config, jobs, defs)


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    return build_pipeline(settings).defs


def job_for_launch(name: str) -> dg.JobDefinition:
    """A job of the definitions the environment configures, by name: what a run launched for another
    process (a Celery worker, `execute_job`) is rebuilt from there."""
    return build_definitions().resolve_job_def(name)


defs = build_definitions()
