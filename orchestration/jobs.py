"""Asset jobs: per ERP the reference and fiscal-year extracts, and the warehouse build + publish."""

from __future__ import annotations

import dagster as dg


def extract_jobs(
    erp: str, reference: list[dg.AssetsDefinition], fiscal: list[dg.AssetsDefinition]
) -> list[dg.UnresolvedAssetJobDefinition]:
    jobs = []
    if reference:
        jobs.append(
            dg.define_asset_job(
                f"{erp}_reference_job",
                selection=dg.AssetSelection.assets(*reference),
                description=f"{erp}: chart of accounts, fiscal years, dimensions, VAT codes",
            )
        )
    if fiscal:
        jobs.append(
            dg.define_asset_job(
                f"{erp}_fiscal_year_job",
                selection=dg.AssetSelection.assets(*fiscal),
                description=f"{erp}: ledger and balances per company and fiscal year",
            )
        )
    return jobs


def warehouse_job(*assets: dg.AssetsDefinition) -> dg.UnresolvedAssetJobDefinition:
    return dg.define_asset_job(
        "warehouse_job",
        selection=dg.AssetSelection.assets(*assets),
        description="dbt build of every model and test, then publish for BI",
    )


def bank_jobs(
    accounts: dg.AssetsDefinition, transactions: dg.AssetsDefinition
) -> list[dg.UnresolvedAssetJobDefinition]:
    return [
        dg.define_asset_job(
            "bank_accounts_job",
            selection=dg.AssetSelection.assets(accounts),
            description="Bank accounts of every connection",
        ),
        dg.define_asset_job(
            "bank_transactions_job",
            selection=dg.AssetSelection.assets(transactions),
            description="Bank transactions, re-read with an overlap; vanished ones removed",
        ),
    ]
