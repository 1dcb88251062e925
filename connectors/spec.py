"""What a source connector declares about itself: credentials, limits, endpoints, how to build a client.

Each connector module exports one spec; the registry collects them, and the companies config, the
Dagster resources and the extract assets are all derived from the specs, so no other code names an ERP.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Protocol, Self, runtime_checkable

import pyarrow as pa

from connectors.bank import BankAggregator
from connectors.fiscal import FiscalPeriod
from connectors.http import DEFAULT_DEADLINE, DEFAULT_MAX_BODY_BYTES, RetryPolicy

Scope = Literal["company", "fiscal_year"]


@runtime_checkable
class ErpClient(Protocol):
    """What the pipeline needs of any ERP client, beside its endpoints' own fetch functions."""

    company_id: str
    pages_fetched: int  # API requests sent so far (pages, detail calls; Procountor counts its tokens too)

    def fiscal_periods(self) -> list[FiscalPeriod]:
        """Every fiscal year the ERP knows for the company, with its real start and end dates."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


@dataclass(frozen=True)
class Incremental:
    """How an endpoint refreshes a stored fiscal year in place.

    `key` groups a source record's rows (all replaced together), `cursor` holds the ERP's change
    timestamp, and `overlap` re-asks for changes just before the newest one stored (a record saved
    while the last sync ran can carry an earlier timestamp than one it saw).
    """

    key: str
    cursor: str
    changes: Callable[[Any, list[FiscalPeriod], str], tuple[set[str], Iterator[pa.RecordBatch]]]
    overlap: timedelta = timedelta(hours=1)
    period: str = "period_id"  # the ERP's fiscal-year id on each row


@dataclass(frozen=True)
class Degradation:
    """An optional API resource a client did without, and why (e.g. the server answered HTTP 404).

    `resource` is named as the endpoints' `optional_resources` name it (the API path).
    """

    resource: str
    cause: str


def degradations(client: object) -> tuple[Degradation, ...]:
    """The optional resources a client has done without so far, in order.

    A client that calls optional resources keeps them in a `degraded` list; a client that calls
    none needs no such attribute (it has nothing to report).
    """
    return tuple(getattr(client, "degraded", ()))


@dataclass(frozen=True)
class Endpoint:
    """One extracted endpoint: a Parquet dataset in the lake and a Dagster asset.

    `company` endpoints are reference data re-read whole; `fiscal_year` endpoints are fetched one
    fiscal year at a time, `fetch(client, period)`, with the year's real dates from the ERP.

    Every API resource an endpoint calls is required (documented and needed for the books: its
    failure fails the company) unless `optional_resources` names it, with what the endpoint's data
    lacks without it. A client that finds an optional resource missing (the server has no such
    resource, or the API user may not read it) records a `Degradation` and reads on; the extract
    asset reports it in its metadata and log. A degradation of a resource the endpoint does not
    name (one its client called for something else, e.g. lock state while finding a fiscal year's
    dates) costs this endpoint's data nothing and is not reported for it.
    """

    source: str
    name: str
    scope: Scope
    schema: pa.Schema
    description: str
    fetch: Callable[..., Iterator[pa.RecordBatch]]  # (client) or (client, period)
    incremental: Incremental | None = None
    optional_resources: Mapping[str, str] = field(default_factory=dict, hash=False)  # resource -> what is lost


@dataclass(frozen=True)
class CredentialField:
    """One credential a company supplies, by the name of the environment variable that holds it."""

    name: str
    description: str


@dataclass(frozen=True)
class ClientSettings:
    """What the pipeline hands a spec to build one company's client."""

    company_id: str
    business_id: str
    base_url: str
    secrets: Mapping[str, str]
    options: Mapping[str, Any]
    retry: RetryPolicy
    requests_per_second: float | None


@dataclass(frozen=True)
class CompanyOption:
    """An ERP-specific setting of a company in companies.yaml (e.g. Netvisor's MAC algorithm)."""

    name: str
    description: str
    choices: tuple[str, ...]
    default: str


@dataclass(frozen=True)
class ErpSpec:
    """Everything the pipeline knows about one ERP, in one place."""

    name: str
    title: str
    credentials: tuple[CredentialField, ...]
    default_base_url: str
    build_client: Callable[[ClientSettings], ErpClient]
    endpoints: tuple[Endpoint, ...]
    requests_per_second: float | None = None  # client-side default cap, under the published limit
    max_concurrency: int = 4
    default_timeout: float = 60.0  # seconds for one network operation (connect, one read)
    # One attempt's deadline (connect to last byte) and the cap on one answer's body, where the
    # RetryPolicy leaves them None (NORDLEDGER_HTTP_DEADLINE / _MAX_BODY_MB unset). The client
    # applies the same values: each connector module declares them once as constants.
    default_deadline: float = DEFAULT_DEADLINE
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    options: tuple[CompanyOption, ...] = ()
    docs: str = ""  # where the vendor publishes the contract

    def __post_init__(self) -> None:
        names = [e.name for e in self.endpoints]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.name}: endpoint names repeat: {names}")
        if any(e.source != self.name for e in self.endpoints):
            raise ValueError(f"{self.name}: every endpoint's source must be {self.name!r}")

    @property
    def credential_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.credentials)

    def endpoints_in(self, scope: Scope) -> tuple[Endpoint, ...]:
        return tuple(e for e in self.endpoints if e.scope == scope)


@dataclass(frozen=True)
class BankClientSettings:
    """What the pipeline hands an aggregator spec to build one bank connection's client."""

    company_id: str
    connection_id: str
    base_url: str
    secrets: Mapping[str, str]
    token_path: Path
    provider_id: str | None
    fallback_consent_days: int
    retry: RetryPolicy


@dataclass(frozen=True)
class AggregatorSpec:
    """A PSD2 bank aggregator: its credentials and default address (the client is a BankAggregator)."""

    name: str
    title: str
    source: str  # lake folder and dbt source name
    credentials: tuple[CredentialField, ...]
    default_base_url: str
    build_client: Callable[[BankClientSettings], BankAggregator]
    schemas: Mapping[str, pa.Schema] = field(default_factory=dict)
    default_deadline: float = DEFAULT_DEADLINE  # as on ErpSpec
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES

    @property
    def credential_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.credentials)
