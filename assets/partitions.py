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


def split_key(partition_key: str | dg.MultiPartitionKey) -> tuple[str, str | None]:
    """(company, fiscal year or None) of a company or company x fiscal-year partition key."""
    if isinstance(partition_key, dg.MultiPartitionKey):
        dims = partition_key.keys_by_dimension
        return dims[COMPANY], dims[FISCAL_YEAR]
    return partition_key, None
