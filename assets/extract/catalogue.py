"""The endpoint catalogue: what each source's extract assets fetch and how they are partitioned.

`company` endpoints are reference data re-read whole; `fiscal_year` endpoints are fetched for one
fiscal year at a time, with the year's real dates taken from the ERP.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

import pyarrow as pa

from assets.extract.incremental import Incremental
from connectors import fennoa, netvisor, procountor


@dataclass(frozen=True)
class Endpoint:
    source: str
    name: str
    scope: Literal["company", "fiscal_year"]
    schema: pa.Schema
    description: str
    fetch: Callable[..., Iterator[pa.RecordBatch]]  # (client) or (client, period)
    incremental: Incremental | None = None  # how a stored fiscal year is refreshed from its changes


FENNOA = (
    Endpoint(
        "fennoa",
        "accounts",
        "company",
        fennoa.SCHEMAS["accounts"],
        "Chart of accounts (accounting_api/get/accounts).",
        lambda c: c.accounts(),
    ),
    Endpoint(
        "fennoa",
        "periods",
        "company",
        fennoa.SCHEMAS["periods"],
        "Fiscal years with their lock state (get/periods + get/locking_periods).",
        lambda c: c.periods(),
    ),
    Endpoint(
        "fennoa",
        "vatcodes",
        "company",
        fennoa.SCHEMAS["vatcodes"],
        "VAT codes (accounting_api/get/vatcodes).",
        lambda c: c.vatcodes(),
    ),
    Endpoint(
        "fennoa",
        "dimensions",
        "company",
        fennoa.SCHEMAS["dimensions"],
        "Dimension types and items: cost centres, projects (dimension_api).",
        lambda c: c.dimensions(),
    ),
    Endpoint(
        "fennoa",
        "ledger",
        "fiscal_year",
        fennoa.SCHEMAS["ledger"],
        "Every ledger row of the fiscal year (get/ledger/<start>/<end>, paged).",
        lambda c, p: c.ledger(p),
    ),
    Endpoint(
        "fennoa",
        "opening_balances",
        "fiscal_year",
        fennoa.SCHEMAS["opening_balances"],
        "Opening balances of the fiscal year (get/opening_balances/<period>).",
        lambda c, p: c.opening_balances(p),
    ),
    Endpoint(
        "fennoa",
        "account_balances",
        "fiscal_year",
        fennoa.SCHEMAS["account_balances"],
        "Balances Fennoa reports for every account at the fiscal year's end, for reconciliation "
        "(get/account_balance/<account>/<date>).",
        lambda c, p: c.account_balances(p, c.account_numbers()),
    ),
)

NETVISOR = (
    Endpoint(
        "netvisor",
        "accounts",
        "company",
        netvisor.SCHEMAS["accounts"],
        "Chart of accounts (accountlist.nv).",
        lambda c: c.accounts(),
    ),
    Endpoint(
        "netvisor",
        "periods",
        "company",
        netvisor.SCHEMAS["periods"],
        "Fiscal years with the accounting lock date (accountingperiodlist.nv).",
        lambda c: c.periods(),
    ),
    Endpoint(
        "netvisor",
        "voucher_types",
        "company",
        netvisor.SCHEMAS["voucher_types"],
        "Voucher types (vouchertypelist.nv).",
        lambda c: c.voucher_types(),
    ),
    Endpoint(
        "netvisor",
        "dimensions",
        "company",
        netvisor.SCHEMAS["dimensions"],
        "Dimension names and items (dimensionlist.nv).",
        lambda c: c.dimensions(),
    ),
    Endpoint(
        "netvisor",
        "ledger",
        "fiscal_year",
        netvisor.SCHEMAS["ledger"],
        "Every voucher line of the fiscal year with voucher and line status, valid, invalidated and "
        "deleted (accountingledger.nv, date windows within months, voucherstatus=1).",
        lambda c, p: c.ledger(p),
    ),
    Endpoint(
        "netvisor",
        "account_balances",
        "fiscal_year",
        netvisor.SCHEMAS["account_balances"],
        "Balances Netvisor reports at the fiscal year's end (accountbalance.nv).",
        lambda c, p: c.account_balances(p),
    ),
)

PROCOUNTOR = (
    Endpoint(
        "procountor",
        "accounts",
        "company",
        procountor.SCHEMAS["accounts"],
        "Chart of accounts (/coa).",
        lambda c: c.accounts(),
    ),
    Endpoint(
        "procountor",
        "periods",
        "company",
        procountor.SCHEMAS["periods"],
        "Fiscal years (/fiscalyears).",
        lambda c: c.periods(),
    ),
    Endpoint(
        "procountor",
        "dimensions",
        "company",
        procountor.SCHEMAS["dimensions"],
        "Dimensions and items (/dimensions).",
        lambda c: c.dimensions(),
    ),
    Endpoint(
        "procountor",
        "ledger",
        "fiscal_year",
        procountor.SCHEMAS["ledger"],
        "Ledger receipts of the fiscal year: official ones with their transactions and derived VAT "
        "lines, the others with the reason they are excluded (/ledgerreceipts + /ledgerreceipts/{id}). "
        "Incremental runs fetch details only for receipts changed since the last sync (versionStartDate).",
        lambda c, p: c.ledger(p),
        Incremental(
            key="receipt_id",
            cursor="receipt_version",
            changes=lambda c, periods, since: c.ledger_changes(periods, since),
        ),
    ),
    Endpoint(
        "procountor",
        "account_balances",
        "fiscal_year",
        procountor.SCHEMAS["account_balances"],
        "Balances Procountor reports at the fiscal year's end (/reports/ledgeraccounts).",
        lambda c, p: c.account_balances(p),
    ),
)

CATALOGUE: dict[str, tuple[Endpoint, ...]] = {"fennoa": FENNOA, "netvisor": NETVISOR, "procountor": PROCOUNTOR}


def endpoints(source: str) -> tuple[Endpoint, ...]:
    return CATALOGUE.get(source, ())
