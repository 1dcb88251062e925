"""Partitions: each ERP's own company set, and company x fiscal year.

The fiscal-year key is the calendar year in which a fiscal year ends. The key set runs from
`fiscal_years.first` in companies.yaml to next calendar year, so a new fiscal year becomes a
partition without a code change; its real start and end dates always come from the ERP.
"""

from __future__ import annotations

from datetime import date

import dagster as dg

from connectors.companies import CompaniesConfig

COMPANY = "company"
FISCAL_YEAR = "fiscal_year"


def fiscal_year_keys(config: CompaniesConfig, today: date | None = None) -> list[str]:
    last = config.fiscal_years.last or (today or date.today()).year + 1
    return [str(year) for year in range(config.fiscal_years.first, last + 1)]


def company_partitions(config: CompaniesConfig, erp: str) -> dg.StaticPartitionsDefinition:
    return dg.StaticPartitionsDefinition(sorted(c.id for c in config.for_erp(erp)))


def company_fiscal_year_partitions(config: CompaniesConfig, erp: str) -> dg.MultiPartitionsDefinition:
    return dg.MultiPartitionsDefinition(
        {
            COMPANY: company_partitions(config, erp),
            FISCAL_YEAR: dg.StaticPartitionsDefinition(fiscal_year_keys(config)),
        }
    )


def bank_company_partitions(config: CompaniesConfig) -> dg.StaticPartitionsDefinition:
    return dg.StaticPartitionsDefinition(sorted({c.id for c, _ in config.bank_connections()}))


def bank_fiscal_year_partitions(config: CompaniesConfig) -> dg.MultiPartitionsDefinition:
    return dg.MultiPartitionsDefinition(
        {
            COMPANY: bank_company_partitions(config),
            FISCAL_YEAR: dg.StaticPartitionsDefinition(fiscal_year_keys(config)),
        }
    )


def group_name(source: str, scope: str) -> str:
    """One asset group per source and grain (`raw_netvisor_reference`, `raw_netvisor_fiscal_year`): the
    assets of a group share one partitions definition, so `--select group:...` with a partition runs."""
    return f"raw_{source}_{'reference' if scope == 'company' else scope}"


class NoPartitionsError(dg.Failure):
    """A run of partitioned assets that names no partition: says how to name them instead."""

    def __init__(self, asset: str):
        super().__init__(
            f"{asset}: this run names no partition. Pick companies (and fiscal years) in the UI's launch "
            "dialog, give `dagster ... --partition company` or `company|fiscal_year` (a range with the tags "
            "dagster/asset_partition_range_start and _end), or let nordledger work out the keys: "
            "`nordledger sync COMPANY...` or `nordledger sync --erp ERP --fiscal-years 2026`."
        )


def run_partition_keys(context: dg.AssetExecutionContext) -> list[str]:
    """The run's partition keys; a run launched without any gets `NoPartitionsError`, not Dagster's invariant."""
    if not (context.has_partition_key or context.has_partition_key_range):
        raise NoPartitionsError(context.asset_key.to_user_string())
    return list(context.partition_keys)


def split_key(partition_key: str | dg.MultiPartitionKey) -> tuple[str, str | None]:
    """(company, fiscal year or None) of a company or company x fiscal-year partition key."""
    if isinstance(partition_key, dg.MultiPartitionKey):
        dims = partition_key.keys_by_dimension
        return dims[COMPANY], dims[FISCAL_YEAR]
    return partition_key, None
