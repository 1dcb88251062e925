"""Damaged answers never escape a decoder as anything but a ConnectorError naming company and endpoint.

Every endpoint of every connector (the registry's ERPs and the bank aggregator) is read once from the
simulator and its exchanges recorded; hypothesis then replays them through an `httpx.MockTransport`
with one answer damaged: cut at a byte, a JSON value swapped for another type or a key deleted, an
XML element deleted, duplicated or given other text. Draining the endpoint must either succeed or
raise a `ConnectorError` whose message starts "<source> company '<id>', endpoint '...'"; a KeyError,
TypeError, ArrowInvalid, ParseError, InvalidOperation... escaping is a bug in the decoder.
"""

from __future__ import annotations

import json
import os
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors import nag, registry
from connectors.bank import TokenStore
from connectors.errors import ConnectorError
from connectors.fennoa import FennoaClient
from connectors.http import RetryPolicy
from connectors.nag import NagClient
from connectors.netvisor import NetvisorClient
from connectors.procountor import ProcountorClient
from connectors.spec import Endpoint
from simulator.catalogue import demo_tenants, nag_client_credentials

NO_WAIT = RetryPolicy(max_attempts=2, base_delay=0.0, max_delay=0.0)
EXAMPLES = 60  # per endpoint (20 endpoints): the module runs in about 15 s (make test-fast stays near 90 s)
ALL_TIME = (date(2000, 1, 1), date(2100, 12, 31))
TENANTS = {"fennoa": "borealis", "netvisor": "dahlia", "procountor": "eira"}
BANK_COMPANY, BANK_CONNECTION = "borealis", "borealis_bank"


# -- recording ----------------------------------------------------------------------------------------


def _key(request: httpx.Request) -> tuple[str, str, tuple[tuple[str, tuple[str, ...]], ...], bytes]:
    url = request.url
    query = tuple(sorted((k, tuple(v)) for k, v in parse_qs(url.query.decode(), keep_blank_values=True).items()))
    return request.method, url.path, query, request.content


@dataclass
class Exchange:
    key: tuple[Any, ...]
    status: int
    content_type: str
    body: bytes


class Recorder(httpx.BaseTransport):
    """Forwards to the simulator and keeps every exchange (the first answer per distinct request)."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.exchanges: dict[tuple[Any, ...], Exchange] = {}

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        response = self.inner.handle_request(request)
        body = response.read()
        key = _key(request)
        self.exchanges.setdefault(
            key, Exchange(key, response.status_code, response.headers.get("content-type", ""), body)
        )
        return httpx.Response(response.status_code, headers=response.headers, content=body)


@dataclass
class Case:
    """One endpoint of one connector: how to build its client on a transport, and drain the endpoint."""

    source: str
    company: str
    endpoint: str
    make: Callable[[httpx.BaseTransport], Any]
    drain: Callable[[Any], None]
    exchanges: list[Exchange]


def _erp_factory(erp: str, base_url: str) -> Callable[[httpx.BaseTransport], Any]:
    tenant = next(t for t in demo_tenants() if t.profile.key == TENANTS[erp])
    creds, company = tenant.credentials, tenant.profile.key
    common: dict[str, Any] = {"retry": NO_WAIT, "requests_per_second": None, "sleep": lambda _s: None}
    if erp == "fennoa":
        return lambda t: FennoaClient(
            company,
            base_url,
            creds["username"],
            creds["api_key"],
            page_size=50,
            max_concurrency=1,
            transport=t,
            **common,
        )
    if erp == "netvisor":
        return lambda t: NetvisorClient(
            company,
            base_url,
            creds["customer_id"],
            creds["customer_key"],
            creds["partner_id"],
            creds["partner_key"],
            tenant.profile.business_id,
            transport=t,
            **common,
        )
    if erp == "procountor":
        return lambda t: ProcountorClient(
            company,
            base_url,
            creds["client_id"],
            creds["client_secret"],
            creds["api_key"],
            max_concurrency=1,
            transport=t,
            **common,
        )
    raise AssertionError(f"no test client for ERP {erp!r}")  # a new ERP in the registry needs one here


def _drain_erp(endpoint: Endpoint, period: Any) -> Callable[[Any], None]:
    if endpoint.scope == "company":
        return lambda client: _consume(endpoint.fetch(client))
    return lambda client: _consume(endpoint.fetch(client, period))


def _consume(batches: Iterator[Any]) -> None:
    for _ in batches:
        pass


def _record(make: Callable[[httpx.BaseTransport], Any], drain: Callable[[Any], None]) -> list[Exchange]:
    recorder = Recorder()
    with make(recorder) as client:
        drain(client)
    return [e for e in recorder.exchanges.values() if e.body]


BASES = {"fennoa": "/fennoa/api", "netvisor": "/netvisor", "procountor": "/procountor/api"}


def _erp_cases(simulator_url: str) -> list[Case]:
    cases = []
    for erp in registry.erp_names():
        spec = registry.erp(erp)
        make = _erp_factory(erp, simulator_url + BASES[erp])
        with make(httpx.HTTPTransport()) as client:
            period = min(client.fiscal_periods(), key=lambda p: p.start)
        for endpoint in spec.endpoints:
            drain = _drain_erp(endpoint, period)
            cases.append(Case(erp, TENANTS[erp], endpoint.name, make, drain, _record(make, drain)))
    return cases


def _bank_cases(simulator_url: str, token_dir: Path) -> list[Case]:
    client_id, client_secret = nag_client_credentials()
    token_file = token_dir / "consented.json"

    def make_at(path: Path, transport: httpx.BaseTransport | None) -> NagClient:
        return NagClient(
            BANK_COMPANY,
            BANK_CONNECTION,
            f"{simulator_url}/nag",
            client_id,
            client_secret,
            TokenStore(path),
            retry=NO_WAIT,
            transport=transport,
            sleep=lambda _s: None,
        )

    consenting = make_at(token_file, None)
    consent = httpx.get(consenting.start_authorization("http://127.0.0.1/callback"), follow_redirects=False)
    consenting.complete_authorization(parse_qs(urlparse(consent.headers["location"]).query)["code"][0])
    consenting.close()
    consented = token_file.read_bytes()
    counter = iter(range(10**9))

    def make(transport: httpx.BaseTransport) -> NagClient:
        path = token_dir / f"t{next(counter)}.json"  # each example starts from the same consent
        path.write_bytes(consented)
        return make_at(path, transport)

    with make(httpx.HTTPTransport()) as client:
        account = next(r["account_id"] for b in client.accounts() for r in b.to_pylist())

    def transactions(client: NagClient) -> None:
        _consume(client.transactions(account, *ALL_TIME, 2026))

    def accounts(client: NagClient) -> None:
        _consume(client.accounts())

    assert set(registry.aggregator(registry.aggregator_names()[0]).schemas) == {"bank_accounts", "bank_transactions"}
    return [
        Case(nag.SOURCE, BANK_COMPANY, "bank_accounts", make, accounts, _record(make, accounts)),
        Case(nag.SOURCE, BANK_COMPANY, "bank_transactions", make, transactions, _record(make, transactions)),
    ]


@pytest.fixture(scope="module")
def cases(simulator_url) -> Iterator[dict[tuple[str, str], Case]]:
    with pytest.MonkeyPatch.context() as mp, tempfile.TemporaryDirectory() as tmp:
        mp.setenv("NORDLEDGER_DECODE_WORKERS", "0")  # decode in this process: no worker start per example
        found = _erp_cases(simulator_url) + _bank_cases(simulator_url, Path(tmp))
        yield {(c.source, c.endpoint): c for c in found}


def _ids() -> list[tuple[str, str]]:
    out = [(erp, e.name) for erp in registry.erp_names() for e in registry.erp(erp).endpoints]
    return [*out, (nag.SOURCE, "bank_accounts"), (nag.SOURCE, "bank_transactions")]


# -- damage ---------------------------------------------------------------------------------------------

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(["", "0", "-1", "1e400", "NaN", "2024-02-30", "12,50", "x" * 300, "Infinity"]),
)
JSON_VALUES = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)

_paths_cache: dict[int, list[tuple[Any, ...]]] = {}


def _json_paths(doc: Any) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    stack: list[tuple[tuple[Any, ...], Any]] = [((), doc)]
    while stack:
        path, node = stack.pop()
        out.append(path)
        if isinstance(node, dict):
            stack.extend(((*path, k), v) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend(((*path, i), v) for i, v in enumerate(node))
    return out


def _replaced(doc: Any, path: tuple[Any, ...], op: str, value: Any) -> Any:
    """A copy of `doc` (copied only along `path`) with the node at `path` replaced or deleted."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    copy = dict(doc) if isinstance(doc, dict) else list(doc)
    if rest:
        copy[head] = _replaced(doc[head], rest, op, value)
    elif op == "delete":
        del copy[head]
    else:
        copy[head] = value
    return copy


@st.composite
def damaged_json(draw: st.DrawFn, body: bytes) -> bytes:
    doc = json.loads(body)
    paths = _paths_cache.setdefault(id(body), _json_paths(doc))
    path = paths[draw(st.integers(0, len(paths) - 1))]
    op = draw(st.sampled_from(["swap", "delete"])) if path else "swap"
    value = draw(JSON_VALUES) if op == "swap" else None
    return json.dumps(_replaced(doc, path, op, value)).encode()


@st.composite
def damaged_xml(draw: st.DrawFn, body: bytes) -> bytes:
    root = ET.fromstring(body)
    parents = [(parent, child) for parent in root.iter() for child in parent]
    op = draw(st.sampled_from(["delete", "duplicate", "text"]))
    if not parents:
        op = "text"
    if op == "text":
        elements = list(root.iter())
        element = elements[draw(st.integers(0, len(elements) - 1))]
        element.text = draw(
            st.one_of(
                st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12),
                st.sampled_from(["", "-", "1e400", "NaN", "2024-02-30", "12,50", "99999999999999999999999", " "]),
            )
        )
    else:
        parent, child = parents[draw(st.integers(0, len(parents) - 1))]
        if op == "delete":
            parent.remove(child)
        else:
            parent.insert(list(parent).index(child), child)
    return b'<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(root, encoding="utf-8", xml_declaration=False)


def _is_json(e: Exchange) -> bool:
    try:
        json.loads(e.body)
    except ValueError:
        return False
    return True


def _is_xml(e: Exchange) -> bool:
    try:
        ET.fromstring(e.body)
    except ET.ParseError:
        return False
    return True


@st.composite
def damage(draw: st.DrawFn, case: Case) -> tuple[tuple[Any, ...], bytes]:
    """One recorded answer of the case, and the damaged body it is replaced with."""
    exchange = draw(st.sampled_from(case.exchanges))
    kinds = ["truncate"]
    if _is_json(exchange):
        kinds.append("json")
    elif _is_xml(exchange):
        kinds.append("xml")
    kind = draw(st.sampled_from(kinds))
    if kind == "truncate":
        return exchange.key, exchange.body[: draw(st.integers(0, len(exchange.body) - 1))]
    if kind == "json":
        return exchange.key, draw(damaged_json(exchange.body))
    return exchange.key, draw(damaged_xml(exchange.body))


def _replay(case: Case, damaged_key: tuple[Any, ...], damaged_body: bytes) -> httpx.MockTransport:
    recorded = {e.key: e for e in case.exchanges}

    def handler(request: httpx.Request) -> httpx.Response:
        key = _key(request)
        exchange = recorded.get(key)
        if exchange is None:  # damage led the client somewhere the recording never went
            return httpx.Response(404, text="not recorded")
        body = damaged_body if key == damaged_key else exchange.body
        return httpx.Response(exchange.status, headers={"content-type": exchange.content_type}, content=body)

    return httpx.MockTransport(handler)


# -- the property ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("source", "endpoint"), _ids(), ids=[f"{s}-{e}" for s, e in _ids()])
def test_damaged_answers_raise_only_connector_errors_naming_company_and_endpoint(cases, source, endpoint):
    case = cases[(source, endpoint)]
    assert case.exchanges, f"{source} {endpoint}: nothing recorded"
    assert os.environ.get("NORDLEDGER_DECODE_WORKERS") == "0"

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
    )
    @given(damage(case))
    def check(damaged: tuple[tuple[Any, ...], bytes]) -> None:
        error: ConnectorError | None = None
        with case.make(_replay(case, *damaged)) as client:
            try:
                case.drain(client)
            except ConnectorError as exc:  # anything else escapes and fails the example
                error = exc
        if error is not None:
            assert error.company == case.company and error.endpoint, error
            assert str(error).startswith(f"{case.source} company '{case.company}', endpoint '{error.endpoint}': "), (
                error
            )

    check()
