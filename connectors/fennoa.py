"""Fennoa accounting API client: Basic auth, envelope checks, concurrent ledger paging, Arrow batches.

Every endpoint yields `pyarrow.RecordBatch`es with the fixed schema in `SCHEMAS`: amounts
DECIMAL(18,2), account numbers as text, dates as dates, and every text column as text (a JSON
number there, e.g. a series sent as its numeric id, is kept as the text it was written as).
Contract: Fennoa's accounting API reference; docs/erp-apis.md section 3.

Required and optional resources: every resource called is in Fennoa's published reference and
needed for the books, except `accounting_api/get/locking_periods` (lock dates), which only other
projects' code uses. Without it (HTTP 404: the server has no such resource; HTTP 403: the API user
may not read it) the company is still read in full, its fiscal years' lock state is unknown
(`is_locked` null), and the client records a `Degradation` that the extract asset reports.
"""

from __future__ import annotations

import base64
import json
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date
from decimal import Decimal
from types import MappingProxyType
from typing import Any, TypeVar

import httpx
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from connectors import offload, schemas
from connectors.errors import BadResponseError, MissingRightError
from connectors.fiscal import FiscalPeriod
from connectors.http import MB, ApiSession, Retry, RetryPolicy, SessionClient
from connectors.parsing import account_number, iso_date, money, text, unsigned_money
from connectors.schemas import MONEY
from connectors.spec import ClientSettings, CredentialField, Degradation, Endpoint, ErpSpec

SOURCE = "fennoa"
MAX_PAGE_SIZE = 500
CHUNK_ROWS = 10_000
# A full ledger page of 500 rows is about 150-250 kB; the chart, VAT codes and dimension lists are
# one answer each, and a company with tens of thousands of projects stays well under 32 MB.
DEADLINE = 120.0
MAX_BODY_BYTES = 32 * MB

LOCKING_PERIODS = "accounting_api/get/locking_periods"
# The resources Fennoa's published accounting API reference does not list, or the books can do
# without: resource -> what the data lacks without it (the spec's `optional_resources`). Every other
# resource the client calls is required: any failure of it fails the company.
OPTIONAL_RESOURCES: Mapping[str, str] = MappingProxyType(
    {
        LOCKING_PERIODS: "the fiscal years' lock state: is_locked is null (unknown, neither open nor closed) "
        "and schedules refresh those years as open",
    }
)
# Lock-date rows of locking_periods (other projects' defensive parsers): `code` and a date `value`.
# Only `accounting_locked` locks the books; the invoice-register locks are read past.
LOCK_CODES = frozenset({"accounting_locked", "sales_invoices_locked", "purchase_invoices_locked"})

T = TypeVar("T")
# A fetched ledger page: its number, its rows as decoded, and its raw body when decoded fast (floats).
LedgerPage = tuple[int, list[Any], bytes | None]

SCHEMAS: dict[str, pa.Schema] = {
    "accounts": pa.schema(
        [
            ("company_id", pa.string()),
            ("account_number", pa.string()),
            ("account_name", pa.string()),
            ("vatcode_id", pa.int64()),
            ("vatcode_type", pa.string()),
            ("vatcode", pa.string()),
        ]
    ),
    "periods": schemas.periods(),
    "vatcodes": pa.schema(
        [
            ("company_id", pa.string()),
            ("vatcode_id", pa.int64()),
            ("vatcode_type", pa.string()),
            ("name", pa.string()),
        ]
    ),
    "dimensions": schemas.DIMENSIONS,
    "ledger": pa.schema(
        [
            ("company_id", pa.string()),
            ("fiscal_year", pa.int32()),
            ("period_id", pa.string()),
            ("statement_id", pa.string()),
            ("line_number", pa.int32()),
            ("entry_date", pa.date32()),
            ("series", pa.string()),
            ("statement_number", pa.int64()),
            ("account_number", pa.string()),
            ("description", pa.string()),
            ("debit", MONEY),
            ("credit", MONEY),
            ("dimensions", pa.list_(pa.struct([("type_id", pa.string()), ("item_code", pa.string())]))),
        ]
    ),
    "opening_balances": pa.schema(
        [
            ("company_id", pa.string()),
            ("fiscal_year", pa.int32()),
            ("period_id", pa.string()),
            ("period_start", pa.date32()),
            ("account_number", pa.string()),
            ("debit", MONEY),
            ("credit", MONEY),
        ]
    ),
    "account_balances": schemas.ACCOUNT_BALANCES_DEBIT_CREDIT,
}


def _batch(endpoint: str, rows: list[dict[str, Any]]) -> pa.RecordBatch:
    return pa.RecordBatch.from_pylist(rows, schema=SCHEMAS[endpoint])


class FennoaClient(SessionClient):
    source = SOURCE

    def __init__(
        self,
        company_id: str,
        base_url: str,
        username: str,
        api_key: str,
        *,
        page_size: int = MAX_PAGE_SIZE,
        max_concurrency: int = 4,
        retry: RetryPolicy | None = None,
        requests_per_second: float | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] | None = None,
    ):
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"Fennoa page size must be 1-{MAX_PAGE_SIZE}, got {page_size}")
        self.company_id = company_id
        self.page_size = page_size
        self.max_concurrency = max_concurrency
        basic = base64.b64encode(f"{username}:{api_key}".encode()).decode()  # what httpx.BasicAuth sends
        self.session = ApiSession(
            SOURCE,
            company_id,
            base_url.rstrip("/") + "/",
            auth=httpx.BasicAuth(username, api_key),
            max_concurrency=max_concurrency,
            retry=retry,
            transport=transport,
            rate_limit=requests_per_second,
            sleep=sleep or time.sleep,
            deadline=DEADLINE,
            max_body_bytes=MAX_BODY_BYTES,
            secrets=(username, api_key, basic, f"Basic {basic}"),
        )
        self.pages_fetched = 0
        self.degraded: list[Degradation] = []  # optional resources done without (connectors.spec)
        self._periods: list[FiscalPeriod] | None = None

    # -- transport -------------------------------------------------------------------------------

    def _bad(self, endpoint: str, cause: str) -> BadResponseError:
        return self.session.error(BadResponseError, endpoint, cause)

    def get(
        self, path: str, endpoint: str, params: dict[str, Any] | None = None, *, fast: bool = False
    ) -> dict[str, Any]:
        """GET a path, check the envelope and return the whole decoded body.

        Numbers with a fraction are decoded as text (exact; `money` makes them Decimals). With
        `fast`, orjson decodes them as floats and the raw bytes are kept under `_raw`: the ledger
        converts its amounts to DECIMAL(18,2) with a round-trip check and, where that check cannot
        vouch for a value, decodes the page again exactly from `_raw`.
        """

        def classify(response: httpx.Response) -> dict[str, Any]:
            return _checked_body(self.company_id, endpoint, response.status_code, response.content, fast)

        body = self.session.request("GET", path, endpoint=endpoint, params=params, classify=classify)
        self.pages_fetched += 1
        return body

    def get_optional(self, path: str, endpoint: str) -> dict[str, Any] | None:
        """GET an optional resource (one of OPTIONAL_RESOURCES): its checked body, or None when the
        server has no such resource (HTTP 404) or refuses it to this API user (HTTP 403); then the
        client records a `Degradation`. Every other failure is an error, as for any resource."""
        if path not in OPTIONAL_RESOURCES:
            raise ValueError(f"{path} is not an optional Fennoa resource")

        def classify(response: httpx.Response) -> dict[str, Any] | None:
            if response.status_code == 404:  # whatever the body says (a bare server's page is no envelope)
                return None
            return _checked_body(self.company_id, endpoint, response.status_code, response.content, False)

        cause = "HTTP 404: the server has no such resource"
        try:
            body = self.session.request("GET", path, endpoint=endpoint, classify=classify)
        except MissingRightError:
            # A 403 refuses this resource to credentials the required resources accepted; a 401 means
            # the credentials themselves are rejected, and stays an error.
            body, cause = None, "HTTP 403: the API user may not read it"
        self.pages_fetched += 1
        if body is None:
            self.degraded.append(Degradation(path, cause))
        return body

    def _raw(self, path: str, endpoint: str, params: dict[str, Any]) -> bytes:
        """GET a path and return the body undecoded: a decode worker checks the envelope."""

        def classify(response: httpx.Response) -> bytes:
            if response.status_code >= 400:  # decoded here, for the error it names
                _checked_body(self.company_id, endpoint, response.status_code, response.content, False)
            return response.content

        body = self.session.request("GET", path, endpoint=endpoint, params=params, classify=classify)
        self.pages_fetched += 1
        return body

    def _rows(self, endpoint: str, body: dict[str, Any]) -> list[Any]:
        return _rows(self.company_id, endpoint, body)

    def _parse(self, endpoint: str, fn: Callable[[dict[str, Any]], T], rows: list[Any]) -> list[T]:
        return _parse(self.company_id, endpoint, fn, rows)

    # -- reference endpoints ---------------------------------------------------------------------

    def fiscal_periods(self) -> list[FiscalPeriod]:
        """The company's fiscal years with their lock state, as Fennoa reports them (cached).

        Without locking_periods (see `get_optional`) every year's `locked` is None: the state is
        unknown, neither open nor closed, and `periods()` writes it as null.
        """
        if self._periods is None:
            rows = self._rows("periods", self.get("accounting_api/get/periods", "periods"))
            locks_body = self.get_optional(LOCKING_PERIODS, "locking_periods")
            locked_until = self._locked_until(self._rows("locking_periods", locks_body or {}))

            def parse(row: dict[str, Any]) -> FiscalPeriod:
                end = iso_date(row["end_date"], "end_date")
                return FiscalPeriod(
                    str(row["id"]),
                    iso_date(row["start_date"], "start_date"),
                    end,
                    locked=None if locks_body is None else locked_until is not None and end <= locked_until,
                )

            self._periods = sorted(self._parse("periods", parse, rows), key=lambda p: p.start)
        return self._periods

    def _locked_until(self, rows: list[Any]) -> date | None:
        """The books' lock date: the latest `accounting_locked` date, None when nothing is locked.

        Each row must be {code, value} with a known code and, for `accounting_locked`, a date
        (the resource is undocumented: any other shape is an error, not a guess)."""

        def parse(row: dict[str, Any]) -> date | None:
            code = row["code"]
            if code not in LOCK_CODES:
                raise ValueError(f"unknown lock code {code!r}")
            return iso_date(row["value"], "value") if code == "accounting_locked" else None

        dates = [d for d in self._parse("locking_periods", parse, rows) if d is not None]
        return max(dates, default=None)

    def periods(self) -> Iterator[pa.RecordBatch]:
        yield _batch(
            "periods",
            [
                {
                    "company_id": self.company_id,
                    "period_id": p.id,
                    "start_date": p.start,
                    "end_date": p.end,
                    "fiscal_year": int(p.key),
                    "is_locked": p.locked,
                }
                for p in self.fiscal_periods()
            ],
        )

    def accounts(self) -> Iterator[pa.RecordBatch]:
        rows = self._rows("accounts", self.get("accounting_api/get/accounts", "accounts"))
        yield _batch(
            "accounts",
            self._parse(
                "accounts",
                lambda r: {
                    "company_id": self.company_id,
                    "account_number": account_number(r["code"], "code"),
                    "account_name": r.get("name"),
                    "vatcode_id": _int_or_none(r.get("vatcode_id"), "vatcode_id"),
                    "vatcode_type": r.get("vatcode_type"),
                    "vatcode": r.get("vatcode"),
                },
                rows,
            ),
        )

    def vatcodes(self) -> Iterator[pa.RecordBatch]:
        rows = self._rows("vatcodes", self.get("accounting_api/get/vatcodes", "vatcodes"))
        yield _batch(
            "vatcodes",
            self._parse(
                "vatcodes",
                lambda r: {
                    "company_id": self.company_id,
                    "vatcode_id": int(r["id"]),
                    "vatcode_type": r.get("type"),
                    "name": r.get("name"),
                },
                rows,
            ),
        )

    def dimensions(self) -> Iterator[pa.RecordBatch]:
        types = self._rows("dimension_types", self.get("dimension_api/get/types", "dimension_types"))
        names = dict(
            self._parse("dimension_types", lambda t: (str(t["id"]), t.get("name_fi") or t.get("name_en")), types)
        )
        items = self._rows("dimensions", self.get("dimension_api", "dimensions"))
        yield _batch(
            "dimensions",
            self._parse(
                "dimensions",
                lambda r: {
                    "company_id": self.company_id,
                    "dimension_type_id": str(r["dimension_type_id"]),
                    "dimension_type_name": names.get(str(r["dimension_type_id"])),
                    "item_id": str(r["id"]),
                    "item_code": str(r["code"]),
                    "item_name": r.get("name_fi") or r.get("name_en"),
                    "is_active": bool(int(r.get("is_active", 1))),
                },
                items,
            ),
        )

    # -- fiscal-year endpoints -------------------------------------------------------------------

    def ledger(self, period: FiscalPeriod) -> Iterator[pa.RecordBatch]:
        """Every ledger row of one fiscal year, pages fetched concurrently, ~10 k rows per batch.

        Pages are checked as they arrive and converted in chunks: Arrow's per-call cost would
        dominate 500-row pages. Memory stays at one chunk plus the pages in flight. A ledger of
        more than OFFLOAD_PAGES pages is decoded in worker processes (`connectors.offload`)
        while this process fetches, once a worker is up (decoded here until then: a worker's start
        costs more than the chunks it would wait for); line numbers are assigned here, in page order.
        """
        path = f"accounting_api/get/ledger/{period.start.isoformat()}/{period.end.isoformat()}"
        first = self.get(path, "ledger", {"page": 1, "limit": self.page_size}, fast=True)
        try:
            pages = int(first["pagination"]["pagesCount"])
        except (TypeError, KeyError, ValueError):
            raise self._bad("ledger", "response has no pagination.pagesCount") from None
        line_numbers: dict[str, int] = {}
        first_chunk: list[LedgerPage] = [(1, _page_rows(self.company_id, self.page_size, 1, first), first.get("_raw"))]
        if pages > OFFLOAD_PAGES and offload.worker_count():
            batches = self._offloaded_batches(path, period, pages, first_chunk)
        else:
            batches = self._local_batches(path, period, pages, first_chunk)
        for batch in batches:
            yield _numbered(batch, line_numbers)

    def _local_batches(
        self, path: str, period: FiscalPeriod, pages: int, chunk: list[LedgerPage]
    ) -> Iterator[pa.RecordBatch]:
        size = len(chunk[0][1])
        for page, body in self._ordered(lambda p: self._ledger_page(path, p), range(2, pages + 1)):
            chunk.append((page, _page_rows(self.company_id, self.page_size, page, body), body.get("_raw")))
            size += len(chunk[-1][1])
            if size >= CHUNK_ROWS:
                yield _ledger_batch(self.company_id, chunk, period)
                chunk, size = [], 0
        if chunk:
            yield _ledger_batch(self.company_id, chunk, period)

    def _offloaded_batches(
        self, path: str, period: FiscalPeriod, pages: int, first_chunk: list[LedgerPage]
    ) -> Iterator[pa.RecordBatch]:
        per_chunk = max(1, CHUNK_ROWS // self.page_size)
        ahead = 2 * offload.worker_count()
        yield _ledger_batch(self.company_id, first_chunk, period)
        decoding: deque[tuple[list[int], Future[pa.RecordBatch]]] = deque()

        def settle(numbers: list[int], future: Future[pa.RecordBatch]) -> pa.RecordBatch:
            try:
                return offload.result(future, SOURCE, self.company_id, "ledger")
            except Retry:  # a garbled body slipped past the status code: fetch and check these pages here
                return _ledger_batch(
                    self.company_id,
                    [
                        (p, _page_rows(self.company_id, self.page_size, p, body), body.get("_raw"))
                        for p, body in ((p, self._ledger_page(path, p)) for p in numbers)
                    ],
                    period,
                )

        offload.starting()  # the workers start while the first pages are fetched
        raw: list[tuple[int, bytes]] = []
        fetched = self._ordered(
            lambda p: self._raw(path, "ledger", {"page": p, "limit": self.page_size}), range(2, pages + 1)
        )
        for page, content in fetched:
            raw.append((page, content))
            if len(raw) == per_chunk or page == pages:
                decoding.append(
                    (
                        [p for p, _ in raw],
                        offload.submit(
                            decode_ledger_pages,
                            self.company_id,
                            self.page_size,
                            period,
                            raw,
                            offload=offload.ready(),  # until a worker is up, decoded here
                        ),
                    )
                )
                raw = []
                while len(decoding) > ahead or (decoding and decoding[0][1].done()):
                    yield settle(*decoding.popleft())
        while decoding:
            yield settle(*decoding.popleft())

    def _ledger_page(self, path: str, page: int) -> dict[str, Any]:
        return self.get(path, "ledger", {"page": page, "limit": self.page_size}, fast=True)

    def _ordered(self, fetch: Callable[[int], T], pages: range) -> Iterator[tuple[int, T]]:
        """Fetch pages concurrently, yield them in order; at most 2 x concurrency pages in flight."""
        window = max(1, 2 * self.max_concurrency)
        with ThreadPoolExecutor(max_workers=self.max_concurrency, thread_name_prefix="fennoa") as pool:
            pending: deque[tuple[int, Future[T]]] = deque()
            it = iter(pages)
            for page in it:
                pending.append((page, pool.submit(fetch, page)))
                if len(pending) >= window:
                    break
            while pending:
                page, future = pending.popleft()
                body = future.result()
                nxt = next(it, None)
                if nxt is not None:
                    pending.append((nxt, pool.submit(fetch, nxt)))
                yield page, body

    def opening_balances(self, period: FiscalPeriod) -> Iterator[pa.RecordBatch]:
        body = self.get(f"accounting_api/get/opening_balances/{period.id}", "opening_balances")

        def parse(r: dict[str, Any]) -> dict[str, Any]:
            debit = unsigned_money(r.get("debit_sum"), "debit_sum")
            total = money(r.get("total_sum"), "total_sum")  # signed: debit_sum - credit_sum
            # Fennoa's reference shows total_sum and debit_sum; credit_sum is presumed. Without it the
            # credit side is what the two documented sums imply (never a zero taken for granted).
            has_credit = r.get("credit_sum") not in (None, "")
            credit = unsigned_money(r.get("credit_sum") if has_credit else debit - total, "credit_sum")
            if debit - credit != total:
                raise ValueError(f"account {r.get('account_code')}: debit_sum - credit_sum != total_sum")
            return {
                "company_id": self.company_id,
                "fiscal_year": int(period.key),
                "period_id": period.id,
                "period_start": period.start,
                "account_number": account_number(r["account_code"], "account_code"),
                "debit": debit,
                "credit": credit,
            }

        yield _batch("opening_balances", self._parse("opening_balances", parse, self._rows("opening_balances", body)))

    def account_balances(self, period: FiscalPeriod, accounts: list[str]) -> Iterator[pa.RecordBatch]:
        """The balance Fennoa itself reports for each account at the fiscal year's end."""

        def fetch(account: str) -> dict[str, Any]:
            body = self.get(f"accounting_api/get/account_balance/{account}/{period.end.isoformat()}", "account_balance")
            data = body.get("data")
            record: dict[str, Any] = data if isinstance(data, dict) else body
            try:
                return {
                    "company_id": self.company_id,
                    "fiscal_year": int(period.key),
                    "period_id": period.id,
                    "account_number": account,
                    "balance_date": period.end,
                    "debit": unsigned_money(record.get("sum_debit"), "sum_debit"),
                    "credit": unsigned_money(record.get("sum_credit"), "sum_credit"),
                }
            except (AttributeError, TypeError, ValueError) as exc:
                raise self._bad("account_balance", f"account {account}: {exc}") from None

        with ThreadPoolExecutor(max_workers=self.max_concurrency, thread_name_prefix="fennoa") as pool:
            rows = list(pool.map(fetch, accounts))
        yield _batch("account_balances", rows)

    def account_numbers(self) -> list[str]:
        return [a for batch in self.accounts() for a in batch.column("account_number").to_pylist()]


OFFLOAD_PAGES = 40  # 20 000 lines at full pages; smaller ledgers decode faster here than via a worker


def _checked_body(company_id: str, endpoint: str, status_code: int, content: bytes, fast: bool) -> dict[str, Any]:
    """Decode a response and check Fennoa's envelope; `Retry` for a garbled body, else a named error."""

    def bad(cause: str) -> BadResponseError:
        return BadResponseError(SOURCE, company_id, endpoint, cause)

    try:
        if fast:
            body = orjson.loads(content)
            if isinstance(body, dict):
                body["_raw"] = content
        else:
            body = json.loads(content, parse_float=str)
    except (ValueError, UnicodeDecodeError):
        # A truncated or garbled body is a transient fault: ask again, a bounded number of times.
        raise Retry(f"malformed JSON in HTTP {status_code} response") from None
    if not isinstance(body, dict) or "status" not in body:
        raise bad(f"HTTP {status_code} without the status envelope")
    if str(body["status"]).lower() != "ok" or status_code >= 400:
        raise bad(f"HTTP {status_code}, status {body['status']!r}: {_error_text(body.get('errors'))}")
    return body


def _rows(company_id: str, endpoint: str, body: dict[str, Any]) -> list[Any]:
    data = body.get("data")
    if data is None:
        return []
    if not isinstance(data, list):
        raise BadResponseError(SOURCE, company_id, endpoint, f"expected a list in 'data', got {type(data).__name__}")
    return data


# The text columns of each endpoint's schema: a parsed row's values there pass through `text`.
_TEXT_COLUMNS = {name: tuple(f.name for f in schema if pa.types.is_string(f.type)) for name, schema in SCHEMAS.items()}


def _parse(company_id: str, endpoint: str, fn: Callable[[dict[str, Any]], T], rows: list[Any]) -> list[T]:
    """Each row through `fn`; a row that is no object, lacks a field or holds a bad value is an
    error naming the row. A parsed row for a schema has its text columns checked as text (a JSON
    number there is kept as its text; true/false, an object or a list is an error)."""
    out: list[T] = []
    texts = _TEXT_COLUMNS.get(endpoint, ())
    for index, row in enumerate(rows):
        try:
            if not isinstance(row, dict):
                raise TypeError(f"expected an object, got {type(row).__name__}")
            value = fn(row)
            if isinstance(value, dict):
                for name in texts:
                    value[name] = text(value.get(name), name)
            out.append(value)
        except (KeyError, TypeError, ValueError) as exc:
            what = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
            raise BadResponseError(SOURCE, company_id, endpoint, f"row {index}: {what}") from None
    return out


def _page_rows(company_id: str, page_size: int, page: int, body: dict[str, Any]) -> list[Any]:
    rows = _rows(company_id, "ledger", body)
    if len(rows) > page_size:
        raise BadResponseError(
            SOURCE, company_id, "ledger", f"page {page} has {len(rows)} rows, more than the limit {page_size}"
        )
    return rows


def decode_ledger_pages(
    company_id: str, page_size: int, period: FiscalPeriod, pages: list[tuple[int, bytes]]
) -> pa.RecordBatch:
    """Raw ledger pages (HTTP status already < 400) as one batch; runs in a decode worker."""
    chunk: list[LedgerPage] = []
    for page, content in pages:
        body = _checked_body(company_id, "ledger", 200, content, True)
        chunk.append((page, _page_rows(company_id, page_size, page, body), content))
    return _ledger_batch(company_id, chunk, period)


def _ledger_batch(company_id: str, pages: list[LedgerPage], period: FiscalPeriod) -> pa.RecordBatch:
    """Pages as one batch, built column by column; line numbers are left at 0 for `_numbered`."""
    try:
        columns = _ledger_columns(company_id, [row for _, rows, _ in pages for row in rows], period)
    except (KeyError, TypeError, ValueError, AttributeError, pa.ArrowException):
        # The columnar path only knows *that* a page is unusual; the exact row parser either
        # accepts it (e.g. amounts as text with a comma) or names the page, the row and the reason.
        parsed = []
        for page, rows, raw in pages:
            if raw is not None:
                rows = _rows(company_id, "ledger", json.loads(raw, parse_float=str))
            try:
                parsed += _parse(company_id, "ledger", lambda r: _ledger_row(company_id, r, period), rows)
            except BadResponseError as exc:
                raise BadResponseError(SOURCE, company_id, "ledger", f"page {page}, {exc.cause}") from None
        try:
            columns = {
                name: pa.array([row[name] for row in parsed], SCHEMAS["ledger"].field(name).type)
                for name in SCHEMAS["ledger"].names
            }
        except pa.ArrowException as exc:  # every value was checked row by row: this is not expected
            numbers = ", ".join(str(page) for page, _, _ in pages)
            raise BadResponseError(SOURCE, company_id, "ledger", f"pages {numbers}: {exc}") from None
    columns["line_number"] = pa.nulls(len(columns["statement_id"]), pa.int32()).fill_null(0)
    return pa.RecordBatch.from_arrays([columns[name] for name in SCHEMAS["ledger"].names], schema=SCHEMAS["ledger"])


def _numbered(batch: pa.RecordBatch, line_numbers: dict[str, int]) -> pa.RecordBatch:
    """Number each statement's lines 1, 2, ... across batches (pages arrive in order: stable)."""
    numbers = []
    for statement in batch.column("statement_id").to_pylist():
        n = line_numbers.get(statement, 0) + 1
        line_numbers[statement] = n
        numbers.append(n)
    index = batch.schema.get_field_index("line_number")
    return batch.set_column(index, batch.schema.field(index), pa.array(numbers, pa.int32()))


def _ledger_columns(company_id: str, rows: list[Any], period: FiscalPeriod) -> dict[str, pa.Array]:
    n = len(rows)
    dates = pa.array([r["date"] for r in rows], pa.string()).cast(pa.date32())
    bounds = pc.min_max(dates).as_py()
    if n and (bounds["min"] < period.start or bounds["max"] > period.end):
        raise ValueError("a date is outside the requested window")
    accounts = pa.array([r["account"] for r in rows], pa.string())
    if accounts.null_count or pc.all(pc.utf8_is_alnum(accounts)).as_py() is False:
        raise ValueError("an account number is not plain text")
    amounts = {side: _amounts([r.get(side) for r in rows]) for side in ("debit", "credit")}
    if any(_has_negative(amounts[side]) for side in amounts):
        raise ValueError("a debit or credit is negative")  # the row parser names page, row and side
    return {
        "company_id": pa.array([company_id] * n, pa.string()),
        "fiscal_year": pa.array([int(period.key)] * n, pa.int32()),
        "period_id": pa.array([period.id] * n, pa.string()),
        "statement_id": pa.array([str(r["statement_id"]) for r in rows], pa.string()),
        "entry_date": dates,
        "series": pa.array([r.get("series") for r in rows], pa.string()),
        "statement_number": pa.array([r.get("number") for r in rows], pa.int64()),
        "account_number": accounts,
        "description": pa.array([r.get("description") for r in rows], pa.string()),
        "debit": amounts["debit"],
        "credit": amounts["credit"],
        "dimensions": _dimension_lists([r.get("dimensions") for r in rows]),
    }


def _ledger_row(company_id: str, r: dict[str, Any], period: FiscalPeriod) -> dict[str, Any]:
    entry_date = iso_date(r["date"], "date")
    if not period.start <= entry_date <= period.end:
        raise ValueError(f"date {entry_date} is outside the requested window {period.start}..{period.end}")
    return {
        "company_id": company_id,
        "fiscal_year": int(period.key),
        "period_id": period.id,
        "statement_id": str(r["statement_id"]),
        "line_number": 0,
        "entry_date": entry_date,
        "series": text(r.get("series"), "series"),
        "statement_number": _int_or_none(r.get("number"), "number"),
        "account_number": account_number(r["account"]),
        "description": text(r.get("description"), "description"),
        "debit": unsigned_money(r.get("debit"), "debit"),
        "credit": unsigned_money(r.get("credit"), "credit"),
        "dimensions": _dimensions(r.get("dimensions")),
    }


def _has_negative(values: pa.Array) -> bool:
    """Fennoa's debit and credit are non-negative amounts (a row has one or the other, docs/erp-apis.md
    section 3): checked over the whole column at once."""
    return bool(len(values) and pc.any(pc.less(values, pa.scalar(Decimal("0.00"), MONEY))).as_py())


EXACT_BELOW = 10**13  # |amount| below this: a double pins down every cent, so the round trip below is exact


def _amounts(values: list[Any]) -> pa.Array:
    """JSON amounts to DECIMAL(18,2); raises if any value is not provably an exact two-decimal amount.

    Text (the exact decoder's output) is cast directly. Numbers decoded as doubles are rounded to
    the cent and accepted only if the double sits on that cent (within float resolution) and is
    below 10^13, where a double resolves a thousandth of a cent: then the cent value is the amount
    the JSON text wrote. Anything else makes the caller decode the page exactly.
    """
    if any(v is None or v == "" for v in values):  # absent is not 0.00: the row path names the row
        raise ValueError("an amount is missing")
    if not any(isinstance(v, float | int) and not isinstance(v, bool) for v in values):
        return pa.array(values, pa.string()).cast(MONEY)
    doubles = pa.array(values, pa.float64())
    cents = doubles.cast(MONEY, safe=False)
    # Arrow's decimal -> double is not always the nearest double, so allow a few ulps (2^-50 relative).
    off = pc.abs(pc.subtract(cents.cast(pa.float64()), doubles))
    exact = pc.less_equal(off, pc.add(pc.multiply(pc.abs(doubles), 2.0**-50), 1e-300))
    if pc.all(exact).as_py() is False or (pc.max(pc.abs(doubles)).as_py() or 0) >= EXACT_BELOW:
        raise ValueError("an amount is not an exact two-decimal value")
    return cents


DIMENSION = pa.struct([("type_id", pa.string()), ("item_code", pa.string())])


def _dimension_lists(values: list[Any]) -> pa.Array:
    """Each line's dimensions as list<struct>, built from flat offsets (no dict per item)."""
    offsets, types, codes = [0], [], []
    for value in values:
        if value:
            for item in _dimensions(value):
                types.append(item["type_id"])
                codes.append(item["item_code"])
        offsets.append(len(types))
    items = pa.StructArray.from_arrays(
        [pa.array(types, pa.string()), pa.array(codes, pa.string())], fields=list(DIMENSION)
    )
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), items, type=pa.list_(DIMENSION))


def _dimensions(value: object) -> list[dict[str, str]]:
    """Fennoa gives a line's dimensions as {type_id: item_code} (or a list of pairs)."""
    if not value:
        return []
    if isinstance(value, dict):
        return [{"type_id": str(k), "item_code": str(v)} for k, v in sorted(value.items()) if v not in (None, "")]
    if isinstance(value, list):
        return [{"type_id": str(d["type_id"]), "item_code": str(d["item_code"])} for d in value]
    raise ValueError(f"dimensions: unexpected {type(value).__name__}")


def _int_or_none(value: Any, field: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool | float):
        raise ValueError(f"{field}: expected an integer, got {value!r}")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{field}: {value!r} is not an integer") from None


def _error_text(errors: object) -> str:
    if not errors:
        return "no error text"
    if isinstance(errors, str):
        return errors
    if isinstance(errors, dict):
        return "; ".join(f"{k}: {_error_text(v)}" for k, v in errors.items())
    if isinstance(errors, list):
        return "; ".join(_error_text(e) for e in errors if e is not None) or "no error text"
    return str(errors)


def _client(settings: ClientSettings) -> FennoaClient:
    return FennoaClient(
        settings.company_id,
        settings.base_url,
        settings.secrets["username"],
        settings.secrets["api_key"],
        retry=settings.retry,
        requests_per_second=settings.requests_per_second,
    )


SPEC = ErpSpec(
    name=SOURCE,
    title="Fennoa",
    credentials=(
        CredentialField("username", "User name of the company's API user (Fennoa: Käyttäjät > Luo uusi API-käyttäjä)"),
        CredentialField("api_key", "API key shown when that API user was created"),
    ),
    default_base_url="https://app.fennoa.com/api",
    build_client=_client,
    default_deadline=DEADLINE,
    max_body_bytes=MAX_BODY_BYTES,
    docs="Fennoa accounting API reference; docs/erp-apis.md section 3",
    endpoints=(
        Endpoint(SOURCE, "accounts", "company", SCHEMAS["accounts"],
                 "Chart of accounts (accounting_api/get/accounts).", lambda c: c.accounts()),
        Endpoint(SOURCE, "periods", "company", SCHEMAS["periods"],
                 "Fiscal years with their lock state (get/periods + get/locking_periods, the latter optional).",
                 lambda c: c.periods(), optional_resources=OPTIONAL_RESOURCES),
        Endpoint(SOURCE, "vatcodes", "company", SCHEMAS["vatcodes"],
                 "VAT codes (accounting_api/get/vatcodes).", lambda c: c.vatcodes()),
        Endpoint(SOURCE, "dimensions", "company", SCHEMAS["dimensions"],
                 "Dimension types and items: cost centres, projects (dimension_api).", lambda c: c.dimensions()),
        Endpoint(SOURCE, "ledger", "fiscal_year", SCHEMAS["ledger"],
                 "Every ledger row of the fiscal year (`get/ledger/<start>/<end>`, paged).", lambda c, p: c.ledger(p)),
        Endpoint(SOURCE, "opening_balances", "fiscal_year", SCHEMAS["opening_balances"],
                 "Opening balances of the fiscal year (`get/opening_balances/<period>`).",
                 lambda c, p: c.opening_balances(p)),
        Endpoint(SOURCE, "account_balances", "fiscal_year", SCHEMAS["account_balances"],
                 "Balances Fennoa reports for every account at the fiscal year's end, for reconciliation "
                 "(`get/account_balance/<account>/<date>`).",
                 lambda c, p: c.account_balances(p, c.account_numbers())),
    ),
)  # fmt: skip
