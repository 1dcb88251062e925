"""The endpoint catalogue: what each source's extract assets fetch and how they are partitioned.

`company` endpoints are reference data re-read whole; `fiscal_year` endpoints are fetched for one
fiscal year at a time, with the year's real dates taken from the ERP.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

import pyarrow as pa

from connectors import fennoa



@dataclass(frozen=True)
class Endpoint:
    source: str
    name: str
    scope: Literal["company", "fiscal_year"]
    schema: pa.Schema
    description: str
    fetch: Callable[..., Iterator[pa.RecordBatch]]  # (client) or (client, period)


FENNOA = (
    Endpoint("fennoa", "accounts", "company", fennoa.SCHEMAS["accounts"],
             "Chart of accounts (accounting_api/get/accounts).", lambda c: c.accounts()),
    Endpoint("fennoa", "periods", "company", fennoa.SCHEMAS["periods"],
             "Fiscal years with their lock state (get/periods + get/locking_periods).", lambda c: c.periods()),
    Endpoint("fennoa", "vatcodes", "company", fennoa.SCHEMAS["vatcodes"],
             "VAT codes (accounting_api/get/vatcodes).", lambda c: c.vatcodes()),
    Endpoint("fennoa", "dimensions", "company", fennoa.SCHEMAS["dimensions"],
             "Dimension types and items: cost centres, projects (dimension_api).", lambda c: c.dimensions()),
    Endpoint("fennoa", "ledger", "fiscal_year", fennoa.SCHEMAS["ledger"],
             "Every ledger row of the fiscal year (get/ledger/<start>/<end>, paged).",
             lambda c, p: c.ledger(p)),
    Endpoint("fennoa", "opening_balances", "fiscal_year", fennoa.SCHEMAS["opening_balances"],
             "Opening balances of the fiscal year (get/opening_balances/<period>).",
             lambda c, p: c.opening_balances(p)),
    Endpoint("fennoa", "account_balances", "fiscal_year", fennoa.SCHEMAS["account_balances"],
             "Balances Fennoa reports for every account at the fiscal year's end, for reconciliation "
             "(get/account_balance/<account>/<date>).",
             lambda c, p: c.account_balances(p, c.account_numbers())),
)

CATALOGUE: dict[str, tuple[Endpoint, ...]] = {"fennoa": FENNOA}


def endpoints(source: str) -> tuple[Endpoint, ...]:
    return CATALOGUE.get(source, ())


