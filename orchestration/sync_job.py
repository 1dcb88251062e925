"""`sync_job`: `nordledger sync` from the UI's launchpad. Its config names companies, ERPs and fiscal
years, never partition keys: "everything for company X" is `companies: [x]`, "fiscal year Y of every
company of ERP Z" is `erps: [z]` with `fiscal_years: "Y"`.

The op runs the same plan as the command (reference data, fiscal years, bank data, warehouse), each
step a run of its own job in this instance, so every one of them shows in the run list.
No `from __future__ import annotations` here: Dagster resolves an op's config class from its annotation.
"""

import dagster as dg
from pydantic import Field


class SyncConfig(dg.Config):
    companies: list[str] = Field(default=[], description="Company ids from the companies file.")
    erps: list[str] = Field(default=[], description="Every company of these ERPs (fennoa, netvisor, procountor).")
    all_companies: bool = Field(default=False, description="Every company in the companies file.")
    fiscal_years: str = Field(
        default="",
        description="e.g. 2026, 2024..2026 or 2024,2026 (the calendar year a fiscal year ends in). Empty: "
        "every fiscal year the ERP has that is open or not yet synced.",
    )
    full: bool = Field(default=False, description="Re-read in full, not only the ERP's changes.")
    warehouse: bool = Field(default=True, description="Rebuild and publish the warehouse afterwards.")


@dg.op(description="Runs the chosen companies' sync, one Dagster run per job and partition range.")
def sync_companies(context: dg.OpExecutionContext, config: SyncConfig) -> dg.Output[None]:
    from connectors.settings import load_settings
    from orchestration.definitions import build_pipeline
    from orchestration.sync import SyncError, parse_years, select_companies, sync

    pipeline = build_pipeline(load_settings())
    try:
        ids = select_companies(pipeline.config, config.companies, config.erps, config.all_companies)
        years = parse_years(config.fiscal_years) if config.fiscal_years.strip() else None
        report = sync(pipeline, context.instance, ids, years, config.full, config.warehouse, log=context.log.info)
    except SyncError as exc:
        raise dg.Failure(str(exc)) from None
    total = report.tally
    failed = [f"{r.job} {r.run_id}" for r in report.runs if not r.success]
    for note in report.notes:
        context.log.warning(note)
    metadata: dict[str, dg.RawMetadataValue] = {
        "companies": ", ".join(ids),
        "runs": len(report.runs),
        "rows": total.rows,
        "requests": total.requests,
        "checks_failed": ", ".join(total.checks_failed) or "none",
    }
    if failed:
        raise dg.Failure(f"{len(failed)} of {len(report.runs)} runs failed: {'; '.join(failed)}", metadata=metadata)
    return dg.Output(None, metadata=metadata)


@dg.job(
    description="Sync companies now, without partition keys: set `companies` (everything for those "
    "companies), or `erps` with `fiscal_years` (that year of every company of the ERP), in the launchpad's "
    "config. The same as `nordledger sync`; each step is its own run in the run list."
)
def sync_job() -> None:
    sync_companies()
