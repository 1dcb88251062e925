"""Procountor client: M2M token, receipts listed then read in batches of 200, VAT lines derived.

Contract: Procountor's OpenAPI description 25.12.0 and dev.procountor.com (docs/erp-apis.md section 2
and its corrections). Which receipts are in the books is decided by `receipt_rule` alone; the others
are kept as one row each with the reason. Transactions carry *net* values: the connector adds the
VAT they imply (`vat_lines`), honouring each transaction's own VAT status and deduction percent.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import urlsplit

import httpx
import pyarrow as pa

from connectors import schemas
from connectors.errors import AuthenticationError, BadResponseError
from connectors.fiscal import FiscalPeriod
from connectors.http import MB, ApiSession, RateLimiter, Retry, RetryPolicy, SessionClient
from connectors.parsing import CENT, account_number, iso_date, money
from connectors.schemas import MONEY, VAT_PERCENT
from connectors.spec import ClientSettings, CredentialField, Endpoint, ErpSpec, Incremental

SOURCE = "procountor"
MAX_PAGE_SIZE = 200
MAX_IDS_PER_CALL = 200  # GET /ledgerreceipts/{ids}: "Max 200 ids per request"
RENEW_BEFORE_EXPIRY = 60.0
REQUESTS_PER_SECOND = 18.0  # under the published 20 requests/s, which count per API client
# An index page holds 200 receipts (about 100 kB), a batch of details 200 receipts with their
# transactions (a few MB; payroll receipts have thousands of lines), reports one row per account.
DEADLINE = 120.0
MAX_BODY_BYTES = 64 * MB

# -- which receipts are in the books ---------------------------------------------------------------
# The statuses whose receipts are official accounting: exactly those the ledger-accounts report can
# be asked for (LedgerAccountsReportRequest.receiptStatus), without UNFINISHED, which Procountor
# keeps out of the statutory reports and the VAT return. The report is asked with this same set, so
# our general ledger and Procountor's balances count the same receipts.
BOOKED_STATUSES = frozenset(
    {"APPROVED", "SENT", "NOT_SENT", "RECEIVED", "VERIFIED", "PAID", "PARTLY_PAID", "MARKED_PAID",
     "PAYMENT_QUEUED", "PAYMENT_SENT_TO_BANK", "PAYMENT_DENIED"}
)  # fmt: skip
# Every other status of LedgerReceipt.status, with the reason it is not in the books.
UNBOOKED_STATUSES: dict[str, str] = {
    "UNFINISHED": "unfinished receipt (not in the statutory books or the VAT return)",
    "INVALIDATED": "invalidated receipt (no accounting entries)",
    "DELETED": "deleted receipt",
    "EMPTY": "empty receipt (no accounting entries)",
    "OVERRIDDEN": "overridden receipt (a later version replaced it)",
    "STARTED": "started receipt, never completed",
    "UNSAVED": "receipt never saved",
    "INVOICED": "order already invoiced (the invoice is the receipt in the books)",
    # Not a status the ledger-accounts report can count: kept out so the books compare with it.
    "PAYMENT_TRANSACTION_REMOVED": "payment transaction removed (not counted by Procountor's ledger report)",
}
NOT_OFFICIAL_TYPES: dict[str, str] = {
    "PURCHASE_ORDER": "order, not an official business transaction",
    "SALES_ORDER": "order, not an official business transaction",
}
RECEIPT_TYPES = frozenset(
    {"JOURNAL", "PURCHASE_INVOICE", "SALES_INVOICE", "PERIODIC_TAX_RETURN", "TRAVEL_INVOICE", "BILL_OF_CHARGES",
     "VAT_FORM", "SALARY", "EMPLOYER_CONTRIBUTION", "PURCHASE_ORDER", "SALES_ORDER", "BANK_STATEMENT_AS_RECEIPT",
     "RECEIPT_FOR_OPENING_ACCOUNTS", "REFERENCE_PAYMENT", "TRACKING_PERIOD_OPENING_RECEIPT", "VAT_SUMMARY"}
)  # fmt: skip
# LedgerAccountsReportRequest.options.receiptType: the report is asked for these, orders left out as in the
# books. (TRACKING_PERIOD_OPENING_RECEIPT is not among the types the report takes.)
REPORT_RECEIPT_TYPES = RECEIPT_TYPES - {"TRACKING_PERIOD_OPENING_RECEIPT"} - set(NOT_OFFICIAL_TYPES)
TRACKING_PERIOD_STATUSES = frozenset({"OPEN", "CLOSED", "PENDING"})

# -- VAT ---------------------------------------------------------------------------------------------
# How a transaction's VAT status (its own, else the receipt's) treats its vatPercent. Numbers as
# GET /vats/default gives them on Procountor's pages: 1 domestic, 3 sales outside the EU,
# 5 EU community sales of goods, 12 no VAT handling. A status not listed here, on a transaction
# with a VAT percent, stops the read with the status named: its treatment must be added here.
DOMESTIC, NO_VAT = "domestic", "no VAT"
VAT_STATUSES: dict[int, str] = {1: DOMESTIC, 3: NO_VAT, 5: NO_VAT, 12: NO_VAT}


class ReceiptRule:
    """Which receipts are in the books: one decision per receipt, from its type and status."""

    def reason_excluded(self, receipt: dict[str, Any]) -> str | None:
        """None for a receipt in the books, else why not; ValueError for a type or status we do not know."""
        if not isinstance(receipt, dict):
            raise ValueError(f"expected a receipt object, got {type(receipt).__name__}")
        kind, status = receipt.get("type"), receipt.get("status")
        if not isinstance(kind, str) or kind not in RECEIPT_TYPES:
            raise ValueError(f"receipt {receipt.get('id')} has type {kind!r}, which Procountor does not document")
        if isinstance(status, str) and status in BOOKED_STATUSES:
            return NOT_OFFICIAL_TYPES.get(kind)
        if isinstance(status, str) and status in UNBOOKED_STATUSES:
            return NOT_OFFICIAL_TYPES.get(kind) or UNBOOKED_STATUSES[status]
        raise ValueError(
            f"receipt {receipt.get('id')} has status {status!r}, which the rule of what is in the books does not "
            "know (connectors/procountor.py BOOKED_STATUSES / UNBOOKED_STATUSES)"
        )


receipt_rule = ReceiptRule()


def _share(total: Decimal, weights: list[Decimal], whole: Decimal) -> list[Decimal]:
    """Split `total` in proportion to `weights` (parts of `whole`), to the cent, largest remainder
    first, so the parts sum to total x sum(weights) / whole exactly when the weights cover the whole."""
    if whole == 0:
        return [Decimal(0)] * len(weights)
    target = (total * sum(weights, Decimal(0)) / whole).quantize(CENT, rounding=ROUND_HALF_UP)
    raw = [total * w / whole for w in weights]
    parts = [r.quantize(CENT, rounding="ROUND_DOWN") for r in raw]
    step = CENT if target >= sum(parts, Decimal(0)) else -CENT
    order = sorted(range(len(raw)), key=lambda i: abs(raw[i] - parts[i]), reverse=True)
    for i in order:
        if sum(parts, Decimal(0)) == target:
            break
        parts[i] += step
    return parts


DIMENSION_SPLIT = pa.struct([("dimension_id", pa.string()), ("item_id", pa.string()), ("amount", MONEY)])
SCHEMAS: dict[str, pa.Schema] = {
    "accounts": pa.schema(
        [
            ("company_id", pa.string()),
            ("account_number", pa.string()),
            ("account_name", pa.string()),
            ("is_active", pa.bool_()),
        ]
    ),
    "periods": schemas.periods(),
    "dimensions": schemas.DIMENSIONS,
    "ledger": pa.schema(
        [
            ("company_id", pa.string()),
            ("fiscal_year", pa.int32()),
            ("period_id", pa.string()),
            ("receipt_id", pa.string()),
            ("receipt_type", pa.string()),
            ("receipt_status", pa.string()),
            ("receipt_number", pa.string()),
            ("receipt_date", pa.date32()),
            ("receipt_version", pa.string()),
            ("name", pa.string()),
            ("is_official", pa.bool_()),
            ("exclusion_reason", pa.string()),
            ("line_number", pa.int32()),
            ("transaction_type", pa.string()),
            ("account_number", pa.string()),
            ("amount", MONEY),
            ("vat_percent", VAT_PERCENT),
            ("vat_type", pa.string()),
            ("vat_status", pa.int32()),
            ("vat_deduction_percent", VAT_PERCENT),
            ("is_derived_vat", pa.bool_()),
            ("derived_from_line", pa.int32()),
            ("description", pa.string()),
            # dimensionItemValues: the amount booked to each item, signed like the line
            ("dimensions", pa.list_(DIMENSION_SPLIT)),
        ]
    ),
    "account_balances": schemas.ACCOUNT_BALANCES_NET,
}


_LIMITERS: dict[tuple[str, str], RateLimiter] = {}
_LIMITERS_LOCK = threading.Lock()


def client_limiter(base_url: str, client_id: str, per_second: float) -> RateLimiter:
    """The one limiter of an API client in this process: Procountor counts requests per client, over
    every company it serves, so all of the client's sessions (and concurrent runs) share it."""
    key = (urlsplit(base_url).netloc, client_id)
    with _LIMITERS_LOCK:
        limiter = _LIMITERS.get(key)
        if limiter is None:
            limiter = _LIMITERS[key] = RateLimiter(per_second)
        limiter.tighten(per_second)  # companies of one client asking for different caps: the lowest holds
        return limiter


class ProcountorClient(SessionClient):
    source = SOURCE

    def __init__(
        self,
        company_id: str,
        base_url: str,
        client_id: str,
        client_secret: str,
        api_key: str,
        *,
        vat_payable_account: str = "2939",
        vat_receivable_account: str = "1763",
        max_concurrency: int = 4,
        requests_per_second: float | None = REQUESTS_PER_SECOND,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.company_id = company_id
        self._client_id, self._client_secret, self._api_key = client_id, client_secret, api_key
        self.vat_payable, self.vat_receivable = vat_payable_account, vat_receivable_account
        self.max_concurrency = max_concurrency
        self.session = ApiSession(
            SOURCE,
            company_id,
            base_url.rstrip("/") + "/",
            max_concurrency=max_concurrency,
            retry=retry,
            transport=transport,
            limiter=client_limiter(base_url, client_id, requests_per_second) if requests_per_second else None,
            sleep=sleep or time.sleep,
            deadline=DEADLINE,
            max_body_bytes=MAX_BODY_BYTES,
            secrets=(client_id, client_secret, api_key),
        )
        self._clock = clock
        self._token: str | None = None
        self._token_expires = 0.0
        self._token_lock = threading.Lock()
        self.tokens_issued = 0
        self._count_lock = threading.Lock()
        self.pages_fetched = 0  # every request, tokens included
        self.detail_calls = 0
        self._periods: list[FiscalPeriod] | None = None

    # -- auth ------------------------------------------------------------------------------------

    def _fetch_token(self) -> None:
        def classify(response: httpx.Response) -> dict[str, Any]:
            if response.status_code != 200:
                raise self._bad("oauth/token", self._vendor_error(response))
            try:
                token: dict[str, Any] = response.json()
                return token
            except ValueError:
                raise Retry("malformed JSON from the token endpoint") from None

        self.pages_fetched += 1
        body = self.session.request(
            "POST",
            "oauth/token",
            endpoint="oauth/token",
            classify=classify,
            data={
                "grant_type": "client_credentials",
                "client_id": self._client_id,
                "client_secret": self._client_secret,
                "api_key": self._api_key,
            },
        )
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise self.session.error(AuthenticationError, "oauth/token", "no access_token in the token response")
        self.session.register_secret(token, body.get("refresh_token"))
        lifetime = body.get("expires_in")
        if isinstance(lifetime, bool) or not isinstance(lifetime, int | float | Decimal) or lifetime <= 0:
            raise self._bad("oauth/token", f"expires_in {lifetime!r} is not a positive number of seconds")
        self._token = token
        # renewed shortly before it expires; a very short lifetime is renewed at half of it
        self._token_expires = self._clock() + float(lifetime) - min(RENEW_BEFORE_EXPIRY, float(lifetime) / 2)
        self.tokens_issued += 1

    def _authorize(self, request: httpx.Request) -> None:
        """Put the current token on this attempt, renewing it shortly before it expires."""
        with self._token_lock:
            if self._token is None or self._clock() >= self._token_expires:
                self._fetch_token()
            request.headers["Authorization"] = f"Bearer {self._token}"

    def _renew_after_401(self) -> bool:
        with self._token_lock:
            self._token = None  # the next attempt builds its header from a fresh token
        return True

    # -- transport -------------------------------------------------------------------------------

    @staticmethod
    def _vendor_error(response: httpx.Response) -> str:
        """HTTP status plus the vendor's message and request id (ErrorResponse), or what the body is."""
        try:
            data = json.loads(response.content)
        except (ValueError, UnicodeDecodeError):
            kind = response.headers.get("content-type", "no content type").split(";")[0]
            return f"HTTP {response.status_code} with a {kind} body, not Procountor's JSON error"
        texts: list[str] = []
        request_id = None
        if isinstance(data, dict):
            request_id = data.get("requestId")
            message = data.get("message")
            nested = message.get("errors") if isinstance(message, dict) else data.get("errors")
            if isinstance(message, str):
                texts.append(message)
            for e in nested if isinstance(nested, list) else []:
                if isinstance(e, dict) and e.get("message"):
                    field = f" ({e['field']})" if e.get("field") else ""
                    texts.append(f"{e['message']}{field}")
        text = "; ".join(texts) or "no error text"
        return f"HTTP {response.status_code}: {text}" + (f" [requestId {request_id}]" if request_id else "")

    def get(
        self,
        path: str,
        endpoint: str,
        params: dict[str, Any] | None = None,
        method: str = "GET",
        body: dict[str, Any] | None = None,
        missing_ok: bool = False,
    ) -> Any:
        """Send a request with the current token and return the decoded JSON body (any shape);
        with `missing_ok`, a 404 answers None."""

        def classify(response: httpx.Response) -> Any:
            if response.status_code == 404 and missing_ok:
                return None
            if response.status_code >= 400:
                # a 4xx is the server's verdict on this request (even as a gateway's HTML page): not retried
                raise self._bad(endpoint, self._vendor_error(response))
            try:
                return json.loads(response.content, parse_float=Decimal)
            except (ValueError, UnicodeDecodeError):
                raise Retry(f"malformed JSON in HTTP {response.status_code} response") from None

        kwargs: dict[str, Any] = {"json": body} if body is not None else {}
        with self._count_lock:
            self.pages_fetched += 1
        return self.session.request(
            method,
            path,
            endpoint=endpoint,
            params=params,
            prepare=self._authorize,
            classify=classify,
            on_unauthorized=self._renew_after_401,
            **kwargs,
        )

    def _bad(self, endpoint: str, cause: str) -> BadResponseError:
        return self.session.error(BadResponseError, endpoint, cause)

    # -- reference endpoints ---------------------------------------------------------------------

    def fiscal_periods(self) -> list[FiscalPeriod]:
        if self._periods is None:
            data = self.get("fiscalyears", "fiscalyears")
            try:
                self._periods = sorted((self._fiscal_year(y) for y in data["fiscalYears"]), key=lambda p: p.start)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise self._bad("fiscalyears", f"unexpected fiscal year: {exc}") from None
        return self._periods

    @staticmethod
    def _fiscal_year(y: dict[str, Any]) -> FiscalPeriod:
        tracking = y.get("trackingPeriods") or []
        statuses = [t["status"] for t in tracking]
        unknown = set(statuses) - TRACKING_PERIOD_STATUSES
        if unknown:
            raise ValueError(f"fiscal year {y.get('id')}: tracking period status {sorted(unknown)} is not documented")
        is_open = y["isOpen"]
        if not isinstance(is_open, bool):
            raise ValueError(f"fiscal year {y.get('id')}: isOpen {is_open!r} is not a boolean")
        # closed when Procountor says so, or when every tracking period of the year is closed
        locked = not is_open or (bool(statuses) and all(s == "CLOSED" for s in statuses))
        return FiscalPeriod(
            str(y["id"]), iso_date(y["startDate"], "startDate"), iso_date(y["endDate"], "endDate"), locked=locked
        )

    def periods(self) -> Iterator[pa.RecordBatch]:
        yield pa.RecordBatch.from_pylist(
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
            schema=SCHEMAS["periods"],
        )

    def accounts(self) -> Iterator[pa.RecordBatch]:
        data = self.get("coa", "coa")
        try:
            rows = [
                {
                    "company_id": self.company_id,
                    "account_number": account_number(a["ledgerAccountCode"], "ledgerAccountCode"),
                    "account_name": a.get("name"),
                    "is_active": bool(a.get("active", True)),
                }
                for a in data["ledgerAccounts"]
            ]
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise self._bad("coa", f"unexpected chart of accounts: {exc!r}") from None
        yield self._record_batch("coa", rows, "accounts")

    def dimensions(self) -> Iterator[pa.RecordBatch]:
        rows = []
        try:
            for dim in self.get("dimensions", "dimensions"):
                for item in dim.get("items") or []:
                    rows.append(
                        {
                            "company_id": self.company_id,
                            "dimension_type_id": str(dim["id"]),
                            "dimension_type_name": dim.get("name"),
                            "item_id": str(item["id"]),
                            "item_code": item.get("codeName"),
                            "item_name": item.get("description") or item.get("codeName"),
                            "is_active": item.get("status") != "P",
                        }
                    )
        except (KeyError, TypeError, AttributeError) as exc:
            raise self._bad("dimensions", f"unexpected dimension: {exc!r}") from None
        yield self._record_batch("dimensions", rows, "dimensions")

    # -- fiscal-year endpoints -------------------------------------------------------------------

    def index_pages(self, period: FiscalPeriod, version_since: str | None = None) -> Iterator[list[dict[str, Any]]]:
        """Receipts dated in the period (all types and statuses), one page of 200 at a time in id order,
        each receipt once; with `version_since`, only those whose version is at or after it.

        Pages are numbered, so a list that changes while it is read can shift a receipt past a page
        boundary: when totalCount moved during the read, or fewer distinct receipts came than it
        says, the list is read once more and only receipts not yet seen are yielded; a list that
        moves again is an error, and so is one that ends before its totalCount."""
        seen: set[str] = set()
        for attempt in (1, 2):
            first_total = last_total = None
            listed, page = 0, 0
            while True:
                params: dict[str, Any] = {
                    "startDate": period.start.isoformat(),
                    "endDate": period.end.isoformat(),
                    "page": page,
                    "size": MAX_PAGE_SIZE,
                    "orderById": "ASC",
                }
                if version_since:
                    params["versionStartDate"] = version_since
                data = self.get("ledgerreceipts", "ledgerreceipts", params)
                try:
                    batch = data["results"]
                    last_total = int(data["meta"]["totalCount"])
                    if not isinstance(batch, list):
                        raise TypeError("results is not a list")
                except (KeyError, TypeError, ValueError) as exc:
                    raise self._bad(
                        "ledgerreceipts", f"page {page}: not a LedgerReceiptSearchResult ({exc!r})"
                    ) from None
                first_total = last_total if first_total is None else first_total
                fresh = []
                for position, r in enumerate(batch):
                    if not isinstance(r, dict) or r.get("id") is None:
                        raise self._bad(
                            "ledgerreceipts", f"fiscal year {period.key}, page {page}: receipt {position} has no id"
                        )
                    if str(r["id"]) not in seen:
                        seen.add(str(r["id"]))
                        fresh.append(r)
                yield fresh
                listed += len(batch)
                if listed >= last_total:
                    break
                if not batch:
                    raise self._bad(
                        "ledgerreceipts",
                        f"fiscal year {period.key}: page {page} is empty after {listed} of {last_total} receipts",
                    )
                page += 1
            if first_total == last_total and len(seen) >= last_total:
                return
            if attempt == 2:
                raise self._bad(
                    "ledgerreceipts",
                    f"fiscal year {period.key}: the receipt list changed while it was read twice "
                    f"({first_total} then {last_total} receipts, {len(seen)} seen); run the read again",
                )

    def receipt_index(self, period: FiscalPeriod, version_since: str | None = None) -> list[dict[str, Any]]:
        """All of `index_pages` in one list."""
        return [r for page in self.index_pages(period, version_since) for r in page]

    def ledger(self, period: FiscalPeriod) -> Iterator[pa.RecordBatch]:
        # page by page: a large year's index as dicts would be hundreds of MB; only ids are kept
        return self._receipt_rows(self.index_pages(period), period)

    def ledger_changes(self, periods: list[FiscalPeriod], since: str) -> tuple[set[str], Iterator[pa.RecordBatch]]:
        """What changed in these periods since a sync: receipts whose version is at or after `since`.

        Returns their ids (the stored rows to replace) and, lazily, their new rows; details are read
        (in batches) only for the changed receipts in the books. An edit in Procountor re-creates the
        receipt under a new id and invalidates the old one, so both show up here. The index is read
        before this returns, so the caller knows what to drop before rows arrive.
        """
        changed = [(period, self.receipt_index(period, version_since=since)) for period in periods]
        try:
            stale = {str(r["id"]) for _, index in changed for r in index}
        except (KeyError, TypeError) as exc:
            raise self._bad(
                "ledgerreceipts", f"receipt without an id in the change index since {since}: {exc}"
            ) from None

        def rows() -> Iterator[pa.RecordBatch]:
            for period, index in changed:
                yield from self._receipt_rows([index], period)

        return stale, rows()

    def _receipt_rows(self, pages: Iterable[list[dict[str, Any]]], period: FiscalPeriod) -> Iterator[pa.RecordBatch]:
        ids: list[str] = []  # the receipts in the books, read in detail below
        excluded: list[dict[str, Any]] = []
        for page in pages:
            for r in page:
                try:
                    reason = receipt_rule.reason_excluded(r)
                    if reason:
                        excluded.append(self._header(r, period, reason))
                    else:
                        ids.append(str(r["id"]))
                except (KeyError, TypeError, ValueError) as exc:
                    raise self._bad("ledgerreceipts", f"fiscal year {period.key}: {exc}") from None
        yield self._record_batch("ledgerreceipts", excluded, "ledger")
        del excluded
        chunks = [ids[i : i + MAX_IDS_PER_CALL] for i in range(0, len(ids), MAX_IDS_PER_CALL)]
        # In order, with at most two batches per worker in flight: pool.map would read ahead without
        # bound and hold a large year's decoded receipts in memory while rows are built.
        in_flight: deque[Future[list[dict[str, Any]]]] = deque()
        with ThreadPoolExecutor(max_workers=self.max_concurrency, thread_name_prefix="procountor") as pool:
            for chunk in chunks:
                in_flight.append(pool.submit(self.receipt_details, chunk))
                if len(in_flight) >= 2 * self.max_concurrency:
                    yield self._batch_rows(in_flight.popleft().result(), period)
            while in_flight:
                yield self._batch_rows(in_flight.popleft().result(), period)

    def _batch_rows(self, details: list[dict[str, Any]], period: FiscalPeriod) -> pa.RecordBatch:
        rows = [row for detail in details for row in self._lines(detail, period)]
        return self._record_batch("ledgerreceipts/{ids}", rows, "ledger")

    def _record_batch(self, endpoint: str, rows: list[dict[str, Any]], table: str) -> pa.RecordBatch:
        """The rows as a batch of `table`'s schema; a value of the wrong type fails naming its row."""
        schema = SCHEMAS[table]
        try:
            return pa.RecordBatch.from_pylist(rows, schema=schema)
        except pa.ArrowException as whole:
            for n, row in enumerate(rows):  # only on failure: find the first row Arrow refuses
                try:
                    pa.RecordBatch.from_pylist([row], schema=schema)
                except pa.ArrowException as exc:
                    where = ", ".join(
                        f"{k} {row[k]!r}" for k in ("receipt_id", "account_number", "item_id") if k in row
                    )
                    raise self._bad(endpoint, f"row {n} ({where}): a value of the wrong type: {exc}") from None
            raise self._bad(endpoint, f"a value of the wrong type: {whole}") from None

    def receipt_details(self, ids: list[str]) -> list[dict[str, Any]]:
        """The receipts with these ids (at most 200), in the order asked, each checked to have come back.

        Procountor leaves an unknown id out of a batch without an error, so missing ids are asked
        for once more; still missing, the read fails naming them (a receipt deleted between the
        index and the detail call turns up as a changed receipt on the next read)."""
        found = self._batch(ids)
        missing = [i for i in ids if i not in found]
        if missing:
            found.update(self._batch(missing))
            missing = [i for i in ids if i not in found]
        if missing:
            shown = ", ".join(missing[:20]) + (f" and {len(missing) - 20} more" if len(missing) > 20 else "")
            raise self._bad(
                "ledgerreceipts/{ids}", f"{len(missing)} of {len(ids)} receipts asked for did not come back: {shown}"
            )
        return [found[i] for i in ids]

    def _batch(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        with self._count_lock:
            self.detail_calls += 1
        data = self.get("ledgerreceipts/" + ",".join(ids), "ledgerreceipts/{ids}", missing_ok=True)
        if data is None:
            return {}
        items = [data] if isinstance(data, dict) and len(ids) == 1 else data
        if not isinstance(items, list) or not all(isinstance(d, dict) and "id" in d for d in items):
            raise self._bad("ledgerreceipts/{ids}", f"a batch of {len(ids)} ids did not answer a list of receipts")
        asked = set(ids)
        out = {str(d["id"]): d for d in items}
        extra = set(out) - asked
        if extra:
            raise self._bad("ledgerreceipts/{ids}", f"receipts not asked for came back: {sorted(extra)[:5]}")
        return out

    def _header(self, r: dict[str, Any], period: FiscalPeriod, reason: str | None) -> dict[str, Any]:
        return {
            "company_id": self.company_id,
            "fiscal_year": int(period.key),
            "period_id": period.id,
            "receipt_id": str(r["id"]),
            "receipt_type": r.get("type"),
            "receipt_status": r.get("status"),
            "receipt_number": None if r.get("receiptNumber") is None else str(r["receiptNumber"]),
            "receipt_date": iso_date(r.get("receiptDate"), "receiptDate"),
            "receipt_version": r.get("version"),
            "name": r.get("name"),
            "is_official": reason is None,
            "exclusion_reason": reason,
            "line_number": None,
            "transaction_type": None,
            "account_number": None,
            "amount": None,
            "vat_percent": None,
            "vat_type": None,
            "vat_status": None,
            "vat_deduction_percent": None,
            "is_derived_vat": None,
            "derived_from_line": None,
            "description": None,
            "dimensions": [],
        }

    def _lines(self, receipt: dict[str, Any], period: FiscalPeriod) -> list[dict[str, Any]]:
        try:
            reason = receipt_rule.reason_excluded(receipt)
            if reason is not None:  # its status changed after the index was read: as the detail says
                return [self._header(receipt, period, reason)]
            header = self._header(receipt, period, None)
            rows: list[dict[str, Any]] = []
            transactions = receipt["transactions"]
            if not isinstance(transactions, list) or not transactions:
                raise ValueError("a receipt in the books without transactions")
            for t in transactions:
                line = self._transaction(t, receipt, header, len(rows) + 1)
                rows.append(line)
                rows.extend(self.vat_lines(line, t, header, len(rows) + 1))
            return rows
        except (KeyError, TypeError, ValueError, ArithmeticError, AttributeError) as exc:
            rid = receipt.get("id") if isinstance(receipt, dict) else None
            raise self._bad("ledgerreceipts/{ids}", f"receipt {rid}: {exc}") from None

    def _transaction(
        self, t: dict[str, Any], receipt: dict[str, Any], header: dict[str, Any], number: int
    ) -> dict[str, Any]:
        where = f"transaction {t.get('id')}"
        amount = money(t.get("accountingValue"), f"{where}: accountingValue")  # debit +, credit -
        pct = Decimal(str(t.get("vatPercent") or 0))
        vat_status = t.get("vatStatus", receipt.get("vatStatus"))  # the row's status overrides the receipt's
        deduction = t.get("vatDeductionPercent")
        dims = []
        for d in t.get("dimensionItemValues") or []:
            dims.append(
                {
                    "dimension_id": str(d["dimensionId"]),
                    "item_id": str(d["itemId"]),
                    # required by the spec: the amount booked to the item
                    "amount": money(d.get("value"), f"{where}: dimensionItemValues.value"),
                }
            )
        return {
            **header,
            "line_number": number,
            "transaction_type": t.get("transactionType"),
            "account_number": account_number(t.get("account"), "account"),
            "amount": amount,
            "vat_percent": pct,
            "vat_type": t.get("vatType") or receipt.get("vatType"),
            "vat_status": None if vat_status is None else int(vat_status),
            "vat_deduction_percent": None if deduction is None else Decimal(str(deduction)),
            "is_derived_vat": False,
            "derived_from_line": None,
            "description": t.get("description"),
            "dimensions": dims,
        }

    def vat_lines(
        self, line: dict[str, Any], t: dict[str, Any], header: dict[str, Any], number: int
    ) -> list[dict[str, Any]]:
        """The VAT postings a net transaction implies, rounded half up to the cent.

        Domestic sales: the VAT to the VAT payable account. Domestic purchases: the deductible share
        (vatDeductionPercent, 100 when absent) to the VAT receivable account, the rest stays on the
        transaction's own account with its dimension split. No-VAT statuses post nothing and must
        not carry a VAT percent (Procountor: a status other than domestic takes 0 %). A percent
        without a status, or under one not in VAT_STATUSES, fails the read.
        """
        pct: Decimal = line["vat_percent"]
        if not pct:
            return []
        where = f"transaction {t.get('id')}"
        status = line["vat_status"]
        if status is None:
            raise ValueError(f"{where}: vatPercent {pct} without a vatStatus on the row or the receipt")
        treatment = VAT_STATUSES.get(status)
        if treatment is None:
            raise ValueError(
                f"{where}: vatStatus {status} with vatPercent {pct} is not a VAT status the connector knows "
                f"({sorted(VAT_STATUSES)}); its treatment must be added to VAT_STATUSES"
            )
        if treatment == NO_VAT:
            raise ValueError(f"{where}: vatPercent {pct} under vatStatus {status}, which has no VAT")
        vat_type = line["vat_type"]
        vat = (line["amount"] * pct / 100).quantize(CENT, rounding=ROUND_HALF_UP)
        derived = {
            **header,
            "transaction_type": "VAT",
            "vat_percent": Decimal(0),
            "vat_type": vat_type,
            "vat_status": status,
            "is_derived_vat": True,
            "derived_from_line": line["line_number"],
            "dimensions": [],
        }
        if vat_type == "SALES":
            if line["vat_deduction_percent"] not in (None, Decimal(100)):
                raise ValueError(f"{where}: a sale with vatDeductionPercent {line['vat_deduction_percent']}")
            parts = [(self.vat_payable, vat, f"ALV {pct}%")]
        elif vat_type == "PURCHASE":
            deduction = line["vat_deduction_percent"]
            deduction = Decimal(100) if deduction is None else deduction
            if not Decimal(0) <= deduction <= Decimal(100):
                raise ValueError(f"{where}: vatDeductionPercent {deduction} is not between 0 and 100")
            deductible = (vat * deduction / 100).quantize(CENT, rounding=ROUND_HALF_UP)
            parts = [
                (self.vat_receivable, deductible, f"ALV {pct}%, vähennettävä {deduction}%"),
                (line["account_number"], vat - deductible, f"ALV {pct}%, vähennyskelvoton osuus"),
            ]
        else:
            raise ValueError(f"{where}: vatPercent {pct} without a SALES/PURCHASE vatType ({vat_type!r})")
        rows: list[dict[str, Any]] = []
        for account, amount, text in parts:
            if amount == 0:
                continue
            dims = self._split_like(line, amount) if account == line["account_number"] else []
            rows.append(
                {
                    **derived,
                    "line_number": number + len(rows),
                    "account_number": account,
                    "amount": amount,
                    "description": f"{text} (transaction {t.get('id')})",
                    "dimensions": dims,
                }
            )
        return rows

    @staticmethod
    def _split_like(line: dict[str, Any], amount: Decimal) -> list[dict[str, Any]]:
        """The dimension split of `line`, scaled to `amount` (per dimension type, to the cent)."""
        out: list[dict[str, Any]] = []
        by_type: dict[str, list[dict[str, Any]]] = {}
        for d in line["dimensions"]:
            by_type.setdefault(d["dimension_id"], []).append(d)
        for entries in by_type.values():
            shares = _share(amount, [d["amount"] for d in entries], line["amount"])
            out.extend({**d, "amount": share} for d, share in zip(entries, shares, strict=True))
        return out

    def account_balances(self, period: FiscalPeriod) -> Iterator[pa.RecordBatch]:
        """Procountor's own balance per account over the fiscal year, counting the receipts in the books.

        Asked with the statuses and types of the books (receiptStatus, options.receiptType), so it
        counts what our general ledger counts. A
        row's `name` starts with the account number ("1910 Pankkitili"); its `value` is the sum of the
        period's entries, which for a balance-sheet account includes the opening receipt."""
        endpoint = "reports/ledgeraccounts"
        data = self.get(
            endpoint,
            endpoint,
            method="POST",
            body={
                "startDate": period.start.isoformat(),
                "endDate": period.end.isoformat(),
                "receiptStatus": sorted(BOOKED_STATUSES),
                "options": {"receiptType": sorted(REPORT_RECEIPT_TYPES)},
            },
        )
        rows = []
        try:
            report_periods = data["reportData"]["periods"]
            if not isinstance(report_periods, list):
                raise TypeError("reportData.periods is not a list")
            for n, report in enumerate(report_periods):
                end = iso_date(report["endDate"], f"reportData.periods[{n}].endDate")
                for m, row in enumerate(report["rows"]):
                    if not isinstance(row, dict):
                        raise TypeError(f"reportData.periods[{n}].rows[{m}] is not an object")
                    name = row.get("name")
                    # The spec says only "name of the row"; Procountor's report names a row by its
                    # account: number first. Anything else is refused rather than guessed at.
                    if not isinstance(name, str) or not name.split() or not name.split()[0].isdigit():
                        raise ValueError(
                            f"reportData.periods[{n}].rows[{m}]: name {name!r} does not start with an account number"
                        )
                    value = money(row.get("value"), f"reportData.periods[{n}].rows[{m}] ({name}).value")
                    rows.append(
                        {
                            "company_id": self.company_id,
                            "fiscal_year": int(period.key),
                            "period_id": period.id,
                            "account_number": account_number(name.split()[0], f"rows[{m}].name"),
                            "balance_date": end,
                            "balance": value,
                        }
                    )
        except (KeyError, TypeError, ValueError) as exc:
            raise self._bad(endpoint, f"fiscal year {period.key}: not the published report shape ({exc})") from None
        yield pa.RecordBatch.from_pylist(rows, schema=SCHEMAS["account_balances"])


def _client(settings: ClientSettings) -> ProcountorClient:
    return ProcountorClient(
        settings.company_id,
        settings.base_url,
        settings.secrets["client_id"],
        settings.secrets["client_secret"],
        settings.secrets["api_key"],
        retry=settings.retry,
        requests_per_second=settings.requests_per_second,
    )


SPEC = ErpSpec(
    name=SOURCE,
    title="Procountor",
    credentials=(
        CredentialField("client_id", "Client id of the M2M integration registered with Procountor"),
        CredentialField("client_secret", "Client secret of that M2M client"),
        CredentialField("api_key", "API key the company created for this client (Procountor: user menu > API-avaimet)"),
    ),
    default_base_url="https://api.procountor.com/latest/api",
    build_client=_client,
    requests_per_second=REQUESTS_PER_SECOND,
    default_deadline=DEADLINE,
    max_body_bytes=MAX_BODY_BYTES,
    docs="Procountor OpenAPI description and dev.procountor.com; docs/erp-apis.md section 2",
    endpoints=(
        Endpoint(SOURCE, "accounts", "company", SCHEMAS["accounts"], "Chart of accounts (/coa).",
                 lambda c: c.accounts()),
        Endpoint(SOURCE, "periods", "company", SCHEMAS["periods"], "Fiscal years (/fiscalyears).",
                 lambda c: c.periods()),
        Endpoint(SOURCE, "dimensions", "company", SCHEMAS["dimensions"], "Dimensions and items (/dimensions).",
                 lambda c: c.dimensions()),
        Endpoint(SOURCE, "ledger", "fiscal_year", SCHEMAS["ledger"],
                 "Ledger receipts of the fiscal year: those in the books with their transactions, dimension "
                 "splits and derived VAT lines, the others with the reason they are excluded (/ledgerreceipts "
                 "pages + /ledgerreceipts/{ids}, 200 receipts a call). Incremental runs read details only for "
                 "receipts changed since the last sync (versionStartDate).",
                 lambda c, p: c.ledger(p),
                 Incremental(key="receipt_id", cursor="receipt_version",
                             changes=lambda c, periods, since: c.ledger_changes(periods, since))),
        Endpoint(SOURCE, "account_balances", "fiscal_year", SCHEMAS["account_balances"],
                 "Balances Procountor reports for the fiscal year, counting the receipt statuses in the books "
                 "(/reports/ledgeraccounts).",
                 lambda c, p: c.account_balances(p)),
    ),
)  # fmt: skip
