"""`nordledger check`: authenticate as each company, then touch every endpoint the pipeline reads.

Each endpoint of the company's ERP spec is asked for its first batch (fiscal-year endpoints for the
latest fiscal year that has begun), through the same client the extract assets use, and nothing is
written. Every outcome is one `Probe`: ok, credentials missing, bad credentials (naming the fields to
check), missing right (the resource the API user may not read), unreachable, or a bad answer. Messages
come from the connectors' errors, which mask secrets; any other exception's text is masked here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime

from assets.resources import BankClients, ErpClients, MissingCredentialError
from connectors.companies import BankConnection, CompaniesConfig, Company
from connectors.errors import (
    AuthenticationError,
    BadResponseError,
    ConnectorError,
    MissingRightError,
    TransientError,
)
from connectors.fiscal import FiscalPeriod
from connectors.redact import redact
from connectors.settings import Settings
from connectors.spec import Endpoint, ErpClient, degradations
from orchestration.refresh import consents

OK = "ok"
MISSING = "credentials missing"
BAD_CREDENTIALS = "bad credentials"
MISSING_RIGHT = "missing right"
UNREACHABLE = "unreachable"
BAD_ANSWER = "bad answer"
CONSENT = "consent needed"
# A check stops after this many attempts per request: a wrong address should not take minutes to say so.
CHECK_ATTEMPTS = 2


@dataclass(frozen=True)
class Probe:
    company: str
    target: str  # "authenticate", an endpoint name, or "bank <connection>"
    status: str
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status == OK

    def line(self) -> str:
        return f"  {self.target:<28} {self.status:<20} {self.detail}".rstrip()


def check_settings(settings: Settings) -> Settings:
    """The settings a check runs with: few attempts per request (a check reports, it does not persevere)."""
    return dataclasses.replace(settings, http_max_attempts=min(settings.http_max_attempts, CHECK_ATTEMPTS))


def _fields(company: Company, cause: str) -> str:
    """The credential fields (with their variables) and ERP options an authentication failure points at:
    those its message names, else every credential of the company."""
    spec = company.spec
    named = [f.name for f in spec.credentials if f.name in cause]
    options = [o.name for o in spec.options if o.name in cause]
    fields = [f"{name} ({company.credentials[name]})" for name in named or spec.credential_names]
    return ", ".join(fields + [f"option {o}" for o in options])


def classify(company: Company, exc: ConnectorError, authenticated: bool) -> tuple[str, str]:
    """(status, detail) of a connector error. Once the company has authenticated, a refusal of one
    resource is a right the API user lacks; before that, it is the credentials."""
    where = company.base_url or company.spec.default_base_url
    if isinstance(exc, MissingCredentialError):
        return MISSING, exc.cause
    if isinstance(exc, TransientError):
        return UNREACHABLE, f"{where}: {exc.cause}"
    if isinstance(exc, MissingRightError):  # HTTP 403: the resource is refused, whatever came before
        return MISSING_RIGHT, (
            f"the API user may not read {exc.endpoint!r}: grant it that resource in {company.spec.title} ({exc.cause})"
        )
    refused = isinstance(exc, AuthenticationError) or (
        not authenticated and isinstance(exc, BadResponseError) and exc.cause.startswith(("HTTP 400", "HTTP 401"))
    )
    if refused and authenticated:
        return MISSING_RIGHT, (
            f"the API user may not read {exc.endpoint!r}: grant it that resource in {company.spec.title} ({exc.cause})"
        )
    if refused:
        return BAD_CREDENTIALS, f"check {_fields(company, exc.cause)}; {exc}"
    return BAD_ANSWER, str(exc)


def latest_period(periods: list[FiscalPeriod], today: date | None = None) -> FiscalPeriod | None:
    """The latest fiscal year that has begun (else the first one): the one a nightly run reads."""
    today = today or datetime.now(UTC).date()
    begun = [p for p in periods if p.start <= today]
    chosen = begun or periods
    return chosen[-1] if chosen else None


def _first_batch(endpoint: Endpoint, client: ErpClient, period: FiscalPeriod | None) -> int:
    batches: Iterator = endpoint.fetch(client) if endpoint.scope == "company" else endpoint.fetch(client, period)
    try:
        first = next(iter(batches), None)
    finally:
        close = getattr(batches, "close", None)
        if close is not None:
            close()  # stop a generator (and any decode worker it started) after its first batch
    return 0 if first is None else first.num_rows


def check_company(clients: ErpClients, company: Company) -> list[Probe]:
    """Authenticate (the fiscal-year list), then each endpoint of the company's ERP spec."""
    try:
        client = clients.client(company.id)
    except MissingCredentialError as exc:
        return [Probe(company.id, "credentials", MISSING, exc.cause)]
    probes: list[Probe] = []
    with client:
        try:
            periods = client.fiscal_periods()
        except ConnectorError as exc:
            return [Probe(company.id, "authenticate", *classify(company, exc, authenticated=False))]
        period = latest_period(periods)
        years = ", ".join(f"{p.start}..{p.end}" for p in periods[-3:])
        probes.append(Probe(company.id, "authenticate", OK, f"{len(periods)} fiscal years ({years})"))
        for endpoint in company.spec.endpoints:
            if endpoint.scope == "fiscal_year" and period is None:
                probes.append(Probe(company.id, endpoint.name, OK, "no fiscal year to read yet"))
                continue
            before = len(degradations(client))
            try:
                rows = _first_batch(endpoint, client, period)
            except ConnectorError as exc:
                probes.append(Probe(company.id, endpoint.name, *classify(company, exc, authenticated=True)))
                continue
            except Exception as exc:  # a parse error names its field; it is an answer we cannot use
                probes.append(Probe(company.id, endpoint.name, BAD_ANSWER, redact(f"{type(exc).__name__}: {exc}")))
                continue
            scope = (
                f" of fiscal year {period.start}..{period.end}" if endpoint.scope == "fiscal_year" and period else ""
            )
            detail = f"{rows} rows in the first batch{scope}"
            lost = [
                f"without {d.resource} ({d.cause}): {endpoint.optional_resources[d.resource]}"
                for d in degradations(client)[before:]
                if d.resource in endpoint.optional_resources
            ]
            probes.append(Probe(company.id, endpoint.name, OK, "; ".join([detail, *lost])))
    return probes


def check_bank(settings: Settings, config: CompaniesConfig, company: Company, connection: BankConnection) -> Probe:
    """A bank connection: its consent (PSD2 login) holds, then its accounts can be listed."""
    target = f"bank {connection.id}"
    consent = next(c for c in consents(settings, config, datetime.now(UTC)) if c.connection_id == connection.id)
    if consent.state in ("missing", "expired"):
        what = "was never given" if consent.state == "missing" else f"expired {consent.expires:%Y-%m-%d}"
        return Probe(company.id, target, CONSENT, f"consent {what}; run: nordledger bank authorize {connection.id}")
    try:
        with BankClients.from_settings(settings).client(company.id, connection.id) as client:
            accounts = sum(batch.num_rows for batch in client.accounts())
    except MissingCredentialError as exc:
        return Probe(company.id, target, MISSING, exc.cause)
    except TransientError as exc:
        return Probe(company.id, target, UNREACHABLE, exc.cause)
    except AuthenticationError as exc:
        return Probe(company.id, target, BAD_CREDENTIALS, f"check {', '.join(connection.credentials.values())}; {exc}")
    except ConnectorError as exc:
        return Probe(company.id, target, BAD_ANSWER, str(exc))
    note = f"; consent expires {consent.expires:%Y-%m-%d}" if consent.state == "warning" and consent.expires else ""
    return Probe(company.id, target, OK, f"{accounts} bank accounts{note}")


def check(settings: Settings, config: CompaniesConfig, companies: list[Company]) -> Iterator[list[Probe]]:
    """Every company's probes, one company at a time (so the caller can print as it goes)."""
    settings = check_settings(settings)
    clients = ErpClients.from_settings(settings)
    for company in companies:
        probes = check_company(clients, company)
        probes += [check_bank(settings, config, company, connection) for connection in company.bank_connections]
        yield probes
