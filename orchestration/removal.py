"""`nordledger remove`: archive the lake partitions the companies file no longer claims, so the warehouse
holds exactly the configured companies.

A company's partitions of a source are claimed while the company is configured with that source: its
ERP, and the bank aggregator's source while it has a bank connection. Everything else (a company taken
out of companies.yaml, the old ERP of a company moved to another) is stale: it is moved out of `raw/`
(which dbt reads) into `_archive/` under the lake root, and the next warehouse run, which accepts the
company's general ledger vanishing from the published copy, publishes without it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from assets.lake import ACCEPT_TAG, StoredCompany
from assets.lake_store import LakeStore, open_lake
from connectors import registry
from connectors.companies import CompaniesConfig


class RemovalError(ValueError):
    """Nothing may or can be archived for what was asked; the message says why."""


def claimed_sources(config: CompaniesConfig, company_id: str) -> set[str]:
    """The lake sources the companies file keeps for a company (none when it is not configured)."""
    company = config.by_id.get(company_id)
    if company is None:
        return set()
    sources = {endpoint.source for endpoint in company.spec.endpoints}
    sources |= {registry.aggregator(b.aggregator).source for b in company.bank_connections}
    return sources


def stale(lake: LakeStore | Path, config: CompaniesConfig) -> list[StoredCompany]:
    """Partitions in the lake (a store, or a folder's path) that no configured company claims."""
    store = open_lake(lake) if isinstance(lake, Path) else lake
    return [s for s in store.stored_companies() if s.source not in claimed_sources(config, s.company)]


@dataclass(frozen=True)
class Archived:
    company: str
    source: str
    rows: int
    endpoints: int
    to: str  # the archive's folder or s3:// prefix


def remove(lake: LakeStore | Path, config: CompaniesConfig, company_ids: list[str]) -> list[Archived]:
    """Archive each named company's stale partitions; refuse a company the file still claims whole."""
    store = open_lake(lake) if isinstance(lake, Path) else lake
    found = stale(store, config)
    plan: list[StoredCompany] = []
    for company_id in company_ids:
        mine = [s for s in found if s.company == company_id]
        if not mine:
            if company_id in config.by_id:
                raise RemovalError(
                    f"company {company_id!r} is still in the companies file ({config.by_id[company_id].erp}): "
                    "delete its entry first, then run remove again (nordledger never rewrites that file)"
                )
            raise RemovalError(f"company {company_id!r} has no partitions in the lake {store.url}/raw")
        plan += mine
    archived = []
    for stored in plan:
        rows = store.rows(stored)
        to = store.archive(stored)
        archived.append(Archived(stored.company, stored.source, rows, len(stored.directories), to))
    return archived


def accept_tags(company_ids: list[str]) -> dict[str, str]:
    """The warehouse run's tag that lets the named companies' general ledgers leave the published copy."""
    return {ACCEPT_TAG: ",".join(sorted(set(company_ids)))}
