"""Netvisor client: signed headers on every request, one request at a time per customer, XML parsed
as a stream, ledger windowed by date so a fiscal year is covered with no gap and no overlap.

Contract: Netvisor's published resource pages (support.netvisor.fi), summarised in docs/erp-apis.md
section 1. HMACSHA256 by default, plain SHA256 selectable per company. Voucher and line statuses
are kept, so deletions and invalidations reach the warehouse. An answer damaged after its
ResponseStatus (cut off, not well-formed) is transient: asked for again within the retry budget.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import itertools
import math
import re
import threading
import time
import uuid
import xml.etree.ElementTree as ET
import xml.parsers.expat
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

import httpx
import pyarrow as pa
import pyarrow.compute as pc

from connectors import offload, schemas
from connectors.errors import AuthenticationError, BadResponseError, ResponseTooLargeError
from connectors.fiscal import FiscalPeriod, month_end
from connectors.http import MB, ApiSession, Retry, RetryPolicy, SessionClient
from connectors.parsing import (
    account_number,
    date_column,
    decimal_column,
    iso_date,
    money,
    percent,
    unsigned_money,
)
from connectors.redact import MASK
from connectors.schemas import MONEY, VAT_PERCENT
from connectors.spec import ClientSettings, CompanyOption, CredentialField, Endpoint, ErpSpec

SOURCE = "netvisor"
ALGORITHMS = ("HMACSHA256", "SHA256")
# companies.yaml: the id sent as X-Netvisor-Organisation-ID (and signed); empty means the business id
ORGANISATION_OPTION = "netvisor_organisation_id"
TRANSIENT = ("REQUEST_NOT_UNIQUE", "TECHNICAL_ERROR", "SYSTEM_MAINTANANCE", "SYSTEM_MAINTENANCE")
TIMEOUT = 180.0  # Netvisor recommends 120-360 s for large answers
# Netvisor has no paging: a ledger window is one answer. The window plan keeps answers near
# WINDOW_BYTES (8 MB), but a dense month right after a sparse stretch is asked for whole (an L-size
# company: about 35 MB a month, more at the year end). A window over the cap is asked for again in
# halves (`NetvisorClient.ledger`), so the cap bounds memory without failing a big company.
DEADLINE = 600.0
MAX_BODY_BYTES = 128 * MB

SCHEMAS: dict[str, pa.Schema] = {
    "accounts": pa.schema(
        [
            ("company_id", pa.string()),
            ("account_key", pa.string()),
            ("account_number", pa.string()),
            ("account_name", pa.string()),
            ("account_type", pa.string()),
            ("is_active", pa.bool_()),
        ]
    ),
    "periods": schemas.periods(("name", pa.string())),
    "voucher_types": pa.schema(
        [
            ("company_id", pa.string()),
            ("voucher_type_key", pa.string()),
            ("abbreviation", pa.string()),
            ("name", pa.string()),
        ]
    ),
    "dimensions": schemas.DIMENSIONS,
    "ledger": pa.schema(
        [
            ("company_id", pa.string()),
            ("fiscal_year", pa.int32()),
            ("period_id", pa.string()),
            ("voucher_key", pa.string()),
            ("voucher_number", pa.string()),
            ("voucher_date", pa.date32()),
            ("voucher_class", pa.string()),
            ("voucher_class_key", pa.string()),
            ("voucher_description", pa.string()),
            ("voucher_status", pa.string()),
            ("line_key", pa.string()),
            ("line_number", pa.int32()),
            ("line_status", pa.string()),
            ("account_number", pa.string()),
            ("line_sum", MONEY),
            ("description", pa.string()),
            ("vat_percent", VAT_PERCENT),
            ("vat_code", pa.string()),
            # the line's account dimension (follow-up object, getaccountdimensionlist.nv), by its key
            ("account_dimension_key", pa.string()),
            ("dimensions", pa.list_(pa.struct([("name", pa.string()), ("item", pa.string())]))),
        ]
    ),
    "account_balances": schemas.ACCOUNT_BALANCES_DEBIT_CREDIT,
}

# Netvisor answers one request at a time per customer: serialize within this process.
_CUSTOMER_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def _customer_lock(customer_id: str) -> threading.Lock:
    with _LOCKS_GUARD:
        return _CUSTOMER_LOCKS.setdefault(customer_id, threading.Lock())


def compute_mac(
    algorithm: str,
    url: str,
    sender: str,
    customer_id: str,
    timestamp: str,
    language: str,
    organisation_id: str,
    transaction_id: str,
    timestamp_unix: str,
    customer_key: str,
    partner_key: str,
) -> str:
    fields = [url, sender, customer_id, timestamp, language, organisation_id, transaction_id]
    if algorithm == "HMACSHA256":
        message = "&".join([*fields, timestamp_unix, customer_key, partner_key])
        return hmac.new(
            f"{customer_key}&{partner_key}".encode("latin-1"), message.encode("latin-1"), hashlib.sha256
        ).hexdigest()
    if algorithm == "SHA256":
        return hashlib.sha256("&".join([*fields, customer_key, partner_key]).encode("latin-1")).hexdigest()
    raise ValueError(f"unsupported MAC algorithm {algorithm!r}")


def month_windows(start: date, end: date) -> list[tuple[date, date]]:
    """Calendar-month windows tiling [start, end] inclusive: no gap, no overlap."""
    windows, cursor = [], start
    while cursor <= end:
        windows.append((cursor, min(end, month_end(cursor))))
        cursor = month_end(cursor) + timedelta(days=1)
    return windows


def split_window(start: date, end: date, parts: int) -> list[tuple[date, date]]:
    """[start, end] in `parts` nearly equal runs of whole days (at least one day each), tiling it exactly."""
    days = (end - start).days + 1
    parts = max(1, min(parts, days))
    cuts = [start + timedelta(days=days * i // parts) for i in range(parts + 1)]
    return [(cuts[i], cuts[i + 1] - timedelta(days=1)) for i in range(parts)]


class WindowPlan:
    """The ledger windows of [start, end] in the order they are asked for, planned one at a time.

    Windows never cross a month end. The first one is a probe of PROBE_DAYS; after each answer the
    rest of the month is split into equal parts that the answer's bytes per day say stay under
    WINDOW_BYTES (Netvisor has no paging: this bounds what one answer holds), and the next window is
    the first part. A sparse company thus costs one request a month plus the probe; a dense one is
    not asked for a whole month at once, except right after a sparse stretch (the plan knows only
    the last answer). Benchmarks replay the same plan to ask for the same URLs.
    """

    def __init__(self, start: date, end: date):
        self.cursor, self.end = start, end
        self.bytes_per_day: float | None = None

    def answered(self, window: tuple[date, date], size: int) -> None:
        self.bytes_per_day = size / ((window[1] - window[0]).days + 1)

    def next(self) -> tuple[date, date] | None:
        if self.cursor > self.end:
            return None
        last = min(self.end, month_end(self.cursor))
        if self.bytes_per_day is None:
            window = (self.cursor, min(last, self.cursor + timedelta(days=PROBE_DAYS - 1)))
        else:
            days = (last - self.cursor).days + 1
            window = split_window(self.cursor, last, math.ceil(self.bytes_per_day * days / WINDOW_BYTES))[0]
        self.cursor = window[1] + timedelta(days=1)
        return window

    def too_large(self, window: tuple[date, date], limit: int) -> tuple[date, date] | None:
        """The answer for `window` was over `limit` bytes: its first half is asked for next, and the
        rest of the month is planned again from that half's answer. None for a single day."""
        if window[0] >= window[1]:
            return None
        first, second = split_window(window[0], window[1], 2)
        self.cursor = second[0]
        self.bytes_per_day = limit / ((window[1] - window[0]).days + 1)
        return first


_LOCAL_NAMES: dict[str, str] = {}


def _local(tag: str) -> str:
    """Lower-case local name of a tag (memoized: a ledger repeats the same few tags millions of times)."""
    name = _LOCAL_NAMES.get(tag)
    if name is None:
        name = _LOCAL_NAMES[tag] = tag.rsplit("}", 1)[-1].lower()
    return name


def _child(element: ET.Element, name: str) -> ET.Element | None:
    """Case-insensitive child lookup: casing differs between Netvisor resources."""
    name = name.lower()
    return next((c for c in element if _local(c.tag) == name), None)


def _text(element: ET.Element, name: str, default: str | None = None) -> str | None:
    child = _child(element, name)
    return child.text.strip() if child is not None and child.text is not None else default


def _attr(element: ET.Element, name: str) -> str | None:
    name = name.lower()
    return next((v for k, v in element.attrib.items() if k.lower() == name), None)


def _elements(content: bytes, tag: str) -> Iterator[ET.Element]:
    """Stream the elements named `tag` (any casing), freeing each after use."""
    tag = tag.lower()
    for _, element in ET.iterparse(io.BytesIO(content), events=("end",)):
        if _local(element.tag) == tag:
            yield element
            element.clear()


class DamagedAnswerError(Exception):
    """A ledger answer that is not well-formed XML past its ResponseStatus, found while decoding it.

    Not a ConnectorError: `NetvisorClient.ledger` catches it and asks for the window again, then
    checking the whole answer before it is accepted (`NetvisorClient.get(..., whole=True)`).
    """


def _damage(content: bytes) -> str | None:
    """Why `content` is not one well-formed XML document (cut off, garbled, trailing junk), or None.

    expat with no handlers: a fraction of the cost of building elements (about 80 MB/s here).
    """
    try:
        xml.parsers.expat.ParserCreate().Parse(content, True)
    except xml.parsers.expat.ExpatError as exc:
        return str(exc)
    return None


def _flag(element: ET.Element, name: str) -> bool:
    """A documented Boolean child (True/False, any casing); absent or anything else is an error."""
    text = _text(element, name)
    if text is None or text.lower() not in ("true", "false"):
        raise ValueError(f"{name}: expected True or False, got {text!r}")
    return text.lower() == "true"


def _required_text(element: ET.Element, name: str) -> str:
    text = _text(element, name)
    if not text:
        raise ValueError(f"{name} is missing or empty")
    return text


_DIGEST = re.compile(r"\b[0-9A-Fa-f]{32,}\b")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s")
# What Netvisor's AUTHENTICATION_FAILED reason points at (English, Finnish, Swedish words), and the
# companies.yaml fields to check for it.
_KEYS_HINT = (
    "the credentials customer_id, customer_key, partner_id and partner_key and the option netvisor_mac_algorithm"
)
_ORGANISATION_HINT = (
    f"the option {ORGANISATION_OPTION} (sent as X-Netvisor-Organisation-ID; when empty, the company's business_id)"
)
_AUTH_HINTS = (
    (("organi",), _ORGANISATION_HINT),
    (("mac", "key", "avain", "nyckel"), _KEYS_HINT),
    (("partner", "kumppani"), "the credentials partner_id and partner_key"),
    (("customer", "user", "asiakas", "käyttäjä", "kund", "användare"), "the credentials customer_id and customer_key"),
)


def auth_failure(text: str) -> str:
    """The cause of an AUTHENTICATION_FAILED: Netvisor's own reason, shown as it is (the vendor asks
    for that), with a hint naming the companies.yaml fields to check.

    Only the reason's first sentence is kept: after it Netvisor may quote the MAC input it expected
    (keys masked, but ids, timestamp and transaction id in clear) and, after '::', the digest it
    computed. Anything digest-shaped left is masked; registered secrets are masked by ConnectorError.
    """
    reason = _SENTENCE_END.split(text.split("::", 1)[0].strip(), maxsplit=1)[0].strip()
    reason = _DIGEST.sub(MASK, reason)[:200] or "no reason given"
    words = reason.lower()
    hints = [hint for needles, hint in _AUTH_HINTS if any(n in words for n in needles)]
    return (
        f"authentication failed (AUTHENTICATION_FAILED): Netvisor says {reason!r}; "
        f"check {'; '.join(hints) if hints else f'{_KEYS_HINT}, and {_ORGANISATION_HINT}'}"
    )


def _strip(element: ET.Element | None) -> str | None:
    return element.text.strip() if element is not None and element.text is not None else None


def decode_workers() -> int:
    """Worker processes for Netvisor's ledger windows: `offload.worker_count()` (one on two cores).

    Netvisor is read one window at a time, so a worker only pays when this process decodes too:
    large windows alternate between them (bench, M on two cores: 3.8-4.2 s against 5.7 s with
    none, for about 140 MB more at peak)."""
    return offload.worker_count()


class NetvisorClient(SessionClient):
    source = SOURCE

    def __init__(
        self,
        company_id: str,
        base_url: str,
        customer_id: str,
        customer_key: str,
        partner_id: str,
        partner_key: str,
        organisation_id: str,
        *,
        algorithm: str = "HMACSHA256",
        sender: str = "nordledger",
        language: str = "FI",
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] | None = None,
        requests_per_second: float | None = None,
    ):
        if algorithm not in ALGORITHMS:
            raise ValueError(f"Netvisor MAC algorithm must be one of {ALGORITHMS}, got {algorithm!r}")
        self.company_id = company_id
        self.base_url = base_url.rstrip("/")
        self._customer_id, self._customer_key = customer_id, customer_key
        self._partner_id, self._partner_key = partner_id, partner_key
        self.organisation_id, self.algorithm, self.sender, self.language = organisation_id, algorithm, sender, language
        # Long timeout: Netvisor recommends 120-360 s for big reads.
        self.session = ApiSession(
            SOURCE,
            company_id,
            self.base_url,
            max_concurrency=1,
            retry=retry or RetryPolicy(timeout=TIMEOUT),
            transport=transport,
            rate_limit=requests_per_second,
            sleep=sleep or time.sleep,
            deadline=DEADLINE,
            max_body_bytes=MAX_BODY_BYTES,
            # the MAC's inputs; the HMAC key `customer_key&partner_key` is masked by its parts. The
            # organisation id is a header value too: never shown, the error names its field instead.
            secrets=(customer_id, customer_key, partner_id, partner_key, organisation_id),
        )
        self._lock = _customer_lock(customer_id)
        self.pages_fetched = 0
        self._periods: list[FiscalPeriod] | None = None
        self._account_keys: dict[str, str] | None = None  # accountlist.nv: NetvisorKey -> account number

    # -- transport -------------------------------------------------------------------------------

    def _sign(self, request: httpx.Request) -> None:
        """Fresh timestamp, TransactionId and MAC for every attempt, signed over the URL as sent."""
        now = datetime.now(UTC)
        timestamp = now.strftime("%Y-%m-%d %H:%M:%S.") + f"{now.microsecond // 1000:03d}"
        timestamp_unix = str(int(now.timestamp()))
        transaction_id = uuid.uuid4().hex
        mac = compute_mac(
            self.algorithm,
            str(request.url),
            self.sender,
            self._customer_id,
            timestamp,
            self.language,
            self.organisation_id,
            transaction_id,
            timestamp_unix,
            self._customer_key,
            self._partner_key,
        )
        self.session.register_single_use_secret(mac)
        request.headers.update(
            {
                "X-Netvisor-Authentication-Sender": self.sender,
                "X-Netvisor-Authentication-CustomerId": self._customer_id,
                "X-Netvisor-Authentication-PartnerId": self._partner_id,
                "X-Netvisor-Authentication-Timestamp": timestamp,
                "X-Netvisor-Authentication-TimestampUnix": timestamp_unix,
                "X-Netvisor-Authentication-TransactionId": transaction_id,
                "X-Netvisor-Interface-Language": self.language,
                "X-Netvisor-Organisation-ID": self.organisation_id,
                "X-Netvisor-Authentication-MAC": mac,
                "X-Netvisor-Authentication-MACHashCalculationAlgorithm": self.algorithm,
                # No X-Netvisor-Authentication-UseHTTPResponseStatusCodes: failures then come as the
                # documented HTTP 200 with FAILED and `CATEGORY :: text`, so Netvisor's own reason
                # for a rejected request can be shown (a 401's body is never read).
            }
        )

    def get(self, resource: str, params: dict[str, str] | None = None, *, whole: bool = True) -> bytes:
        """GET a resource and return the raw XML after checking ResponseStatus.

        `whole`: the answer must be one well-formed document, or it is transient (asked for again
        within the retry budget, then a TransientError). The ledger leaves the check to its
        decoder, which parses every byte anyway (`ledger` asks again for a damaged window).
        """
        # The query is built by hand and signed exactly as sent (values here are plain ASCII).
        query = "&".join(f"{k}={v}" for k, v in (params or {}).items())
        url = f"{self.base_url}/{resource}" + (f"?{query}" if query else "")
        endpoint = resource.removesuffix(".nv")

        def classify(response: httpx.Response) -> bytes:
            if _declares_dtd(response.content):  # before any parse of it: no entity is ever declared
                raise self.session.error(BadResponseError, endpoint, f"the answer declares a DTD; {_DTD_REFUSED}")
            status = self._status(response.content, endpoint, response.status_code)
            if status is None:
                damage = _damage(response.content) if whole else None
                if damage is not None:
                    raise Retry(f"damaged XML after ResponseStatus in HTTP {response.status_code} response ({damage})")
                return response.content
            category, text = status
            if category == "AUTHENTICATION_FAILED":
                raise self.session.error(AuthenticationError, endpoint, auth_failure(text))
            if category in TRANSIENT:
                raise Retry(f"{category} :: {text}")
            raise self.session.error(BadResponseError, endpoint, f"{category} :: {text}")

        with self._lock:
            content = self.session.request("GET", url, endpoint=endpoint, prepare=self._sign, classify=classify)
        self.pages_fetched += 1
        return content

    def _status(self, content: bytes, endpoint: str, http_status: int) -> tuple[str, str] | None:
        """None for OK, else (category, text) from the two Status elements of a FAILED answer."""
        try:
            for _, element in ET.iterparse(io.BytesIO(content), events=("end",)):
                if _local(element.tag) == "responsestatus":
                    statuses = [(c.text or "").strip() for c in element if _local(c.tag) == "status"]
                    if statuses and statuses[0] == "OK":
                        return None
                    detail = statuses[1] if len(statuses) > 1 else "no detail"
                    category, _, text = detail.partition("::")
                    return category.strip(), text.strip()  # ConnectorError masks, then cuts it
        except ET.ParseError:
            raise Retry(f"malformed XML in HTTP {http_status} response") from None
        raise Retry(f"HTTP {http_status} response without ResponseStatus")

    def _bad(self, endpoint: str, cause: str) -> BadResponseError:
        return self.session.error(BadResponseError, endpoint, cause)

    # -- reference resources ---------------------------------------------------------------------

    def fiscal_periods(self) -> list[FiscalPeriod]:
        if self._periods is None:
            content = self.get("accountingperiodlist.nv")
            lock_date = None
            for element in _elements(content, "PeriodLockInformation"):
                text = _text(element, "AccountingPeriodLockDate")
                try:
                    lock_date = iso_date(text, "AccountingPeriodLockDate") if text else None
                except ValueError as exc:
                    raise self._bad("accountingperiodlist", str(exc)) from None
            periods = []
            for element in _elements(content, "Period"):
                try:
                    start = iso_date(_text(element, "BeginDate"), "BeginDate")
                    end = iso_date(_text(element, "EndDate"), "EndDate")
                except ValueError as exc:
                    raise self._bad("accountingperiodlist", str(exc)) from None
                periods.append(
                    FiscalPeriod(
                        _text(element, "NetvisorKey") or f"{start}",
                        start,
                        end,
                        locked=lock_date is not None and end <= lock_date,
                    )
                )
            self._periods = sorted(periods, key=lambda p: p.start)
        return self._periods

    def periods(self) -> Iterator[pa.RecordBatch]:
        yield pa.RecordBatch.from_pylist(
            [
                {
                    "company_id": self.company_id,
                    "period_id": p.id,
                    "name": None,
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
        rows = []
        for element in _elements(self.get("accountlist.nv"), "Account"):
            key = _text(element, "NetvisorKey")
            try:
                # Number occurs once in every Account (accounts and groups alike): never skipped
                number = account_number(_text(element, "Number"), "Number")
            except ValueError as exc:
                raise self._bad("accountlist", f"account {key}: {exc}") from None
            rows.append(
                {
                    "company_id": self.company_id,
                    "account_key": key,
                    "account_number": number,
                    "account_name": _text(element, "Name"),
                    "account_type": _text(element, "AccountType"),
                    "is_active": _text(element, "IsActive") == "1",
                }
            )
        self._account_keys = {str(r["account_key"]): str(r["account_number"]) for r in rows if r["account_key"]}
        yield pa.RecordBatch.from_pylist(rows, schema=SCHEMAS["accounts"])

    def account_numbers_by_key(self) -> dict[str, str]:
        """accountlist.nv's NetvisorKey -> account number, read once per client."""
        if self._account_keys is None:
            for _ in self.accounts():
                pass
        assert self._account_keys is not None
        return self._account_keys

    def voucher_types(self) -> Iterator[pa.RecordBatch]:
        rows = [
            {
                "company_id": self.company_id,
                "voucher_type_key": _text(e, "NetvisorKey"),
                "abbreviation": _text(e, "Abbreviation"),
                "name": _text(e, "Name"),
            }
            for e in _elements(self.get("vouchertypelist.nv"), "VoucherType")
        ]
        yield pa.RecordBatch.from_pylist(rows, schema=SCHEMAS["voucher_types"])

    def dimensions(self) -> Iterator[pa.RecordBatch]:
        """Dimension headers and their items, hidden ones included (showhidden=1) and marked inactive.

        An item's code and name are its `Code` and `Label` (the current documentation); where one is
        absent (an item without a code, or the older shape with `Name` alone) `Name` stands in for
        it: in the current shape `Name` is code and label combined ("P001 Website renewal").
        """
        rows = []
        content = self.get("dimensionlist.nv", {"showhidden": "1"})
        root = ET.fromstring(content)
        for header in (e for e in root.iter() if _local(e.tag) == "dimensionname" and len(e)):
            type_id = _text(header, "Netvisorkey")
            try:
                type_id = _required_text(header, "Netvisorkey")
                type_name = _required_text(header, "Name")
                header_hidden = _flag(header, "IsHidden")
            except ValueError as exc:
                raise self._bad("dimensionlist", f"dimension header {type_id or '(no key)'}: {exc}") from None
            for detail in (d for d in header.iter() if _local(d.tag) == "dimensiondetail"):
                item_id = _text(detail, "Netvisorkey")
                try:
                    item_id = _required_text(detail, "Netvisorkey")
                    name, code, label = _text(detail, "Name"), _text(detail, "Code"), _text(detail, "Label")
                    if not (code or name) or not (label or name):
                        raise ValueError("no Code, Label or Name")
                    hidden = _flag(detail, "IsHidden")
                except ValueError as exc:
                    raise self._bad(
                        "dimensionlist", f"dimension {type_name!r}, item {item_id or '(no key)'}: {exc}"
                    ) from None
                rows.append(
                    {
                        "company_id": self.company_id,
                        "dimension_type_id": type_id,
                        "dimension_type_name": type_name,
                        "item_id": item_id,
                        "item_code": code or name,
                        "item_name": label or name,
                        # a hidden item, or any item of a hidden header, is out of use
                        "is_active": not (hidden or header_hidden),
                    }
                )
        yield pa.RecordBatch.from_pylist(rows, schema=SCHEMAS["dimensions"])

    # -- fiscal-year resources -------------------------------------------------------------------

    def ledger(self, period: FiscalPeriod) -> Iterator[pa.RecordBatch]:
        """Every voucher line of the fiscal year, all statuses (voucherstatus=1), window by window.

        Windows come from a `WindowPlan` (calendar months, split when dense). They are fetched one
        request at a time, ahead of decoding; once a worker process is up (`connectors.offload`),
        large ones alternate between the workers and this process, and are yielded in order. At
        most one window more than there are workers
        is in flight (a worker has the next one queued while this process writes), so memory is
        bounded by the window size, not by the ledger's. A window whose answer is over the body cap
        is asked for again in halves (down to a single day).

        The decoder is what finds an answer damaged after its ResponseStatus (it parses every byte;
        checking first would parse each answer twice). Such a window is asked for again, now
        checked whole before it is accepted, within the session's retry budget (then a
        TransientError naming the endpoint).
        """
        plan = WindowPlan(period.start, period.end)

        def fetch(window: tuple[date, date], whole: bool = False) -> bytes:
            return self.get(
                "accountingledger.nv",
                {"startdate": window[0].isoformat(), "enddate": window[1].isoformat(), "voucherstatus": "1"},
                whole=whole,
            )

        def decoded(future: Future[list[pa.RecordBatch]], window: tuple[date, date]) -> list[pa.RecordBatch]:
            try:
                return offload.result(future, SOURCE, self.company_id, "accountingledger")
            except DamagedAnswerError:
                self.session.retries += 1
                return decode_ledger_window(self.company_id, fetch(window, whole=True), period, *window)

        # (window's decoding, window, whether a worker decodes it)
        decoding: deque[tuple[Future[list[pa.RecordBatch]], tuple[date, date], bool]] = deque()
        workers = decode_workers()
        window = plan.next()
        if window is None:  # an empty period: nothing to ask for
            return
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="netvisor") as pool:
            pending = pool.submit(fetch, window)
            while window is not None:
                try:
                    content = pending.result()
                except ResponseTooLargeError as exc:
                    smaller = plan.too_large(window, self.session.max_body_bytes)
                    if smaller is None:
                        raise self.session.error(
                            ResponseTooLargeError, "accountingledger", f"window {window[0]} (one day): {exc.cause}"
                        ) from None
                    window = smaller
                    pending = pool.submit(fetch, window)
                    continue
                start, end = window
                plan.answered(window, len(content))
                window = plan.next()
                if window is not None:
                    pending = pool.submit(fetch, window)
                # Large windows alternate between the workers and this process, which decodes one
                # while they decode theirs; until a worker is up, every window is decoded here.
                away = (
                    workers > 0
                    and len(content) >= OFFLOAD_BYTES
                    and sum(w for *_, w in decoding) < workers
                    and offload.ready()
                )
                decoding.append(
                    (
                        offload.submit(
                            decode_ledger_window, self.company_id, content, period, start, end, offload=away
                        ),
                        (start, end),
                        away,
                    )
                )
                del content
                if len(decoding) > workers:  # one queued per worker: none waits for the writer
                    yield from decoded(*decoding.popleft()[:2])
            while decoding:
                yield from decoded(*decoding.popleft()[:2])

    def account_balances(self, period: FiscalPeriod) -> Iterator[pa.RecordBatch]:
        """Every account's debit and credit totals at the fiscal year's end, in either documented shape.

        Since 19.2.2026 each `Account` carries its `Number` (and names); before, only the attribute
        `Netvisorkey`, which is the account's NetvisorKey in accountlist.nv (the key the resource's
        own `netvisorkey` parameter takes): the number is then looked up there (one more request).
        """
        on = period.end
        content = self.get("accountbalance.nv", {"balancedates": on.isoformat()})
        rows = []
        for account in _elements(content, "Account"):
            key = _attr(account, "Netvisorkey")
            where = f"account {key}"
            try:
                number_text = _text(account, "Number")
                if number_text is not None:
                    number = account_number(number_text, "Number")
                elif not key:
                    raise ValueError("an Account with neither a Netvisorkey attribute nor a Number")
                else:
                    known = self.account_numbers_by_key()
                    if key not in known:
                        raise ValueError(f"Netvisorkey {key} (no Number given) is not an account of accountlist.nv")
                    number = known[key]
                where = f"account {number} (Netvisorkey {key})"
                balances = [c for c in account if _local(c.tag) == "accountbalance"]
                if not balances:
                    raise ValueError("no AccountBalance")
                for balance in balances:
                    rows.append(self._balance_row(period, number, balance))
            except ValueError as exc:
                raise self._bad("accountbalance", f"{where}: {exc}") from None
        if not rows:
            raise self._bad(
                "accountbalance", f"no Account balances for {on} (the documented answer lists every account)"
            )
        yield pa.RecordBatch.from_pylist(rows, schema=SCHEMAS["account_balances"])

    def _balance_row(self, period: FiscalPeriod, number: str, balance: ET.Element) -> dict[str, object]:
        on = iso_date(_attr(balance, "Date"), "Date")
        if on != period.end:
            raise ValueError(f"AccountBalance Date {on} was not asked for (balancedates={period.end})")
        amounts = {}
        for name in ("Debet", "Kredit", "Balance"):  # each occurs once; an absent one is not a zero
            text = _text(balance, name)
            if not text:
                raise ValueError(f"AccountBalance {on}: {name} is missing")
            amounts[name] = money(text, name)
        # Debet and Kredit are sums of one side, never negative; Balance = Debet - Kredit
        debit, credit = unsigned_money(amounts["Debet"], "Debet"), unsigned_money(amounts["Kredit"], "Kredit")
        if amounts["Balance"] != debit - credit:
            raise ValueError(
                f"AccountBalance {on}: Balance {amounts['Balance']} is not Debet {debit} - Kredit {credit}"
            )
        return {
            "company_id": self.company_id,
            "fiscal_year": int(period.key),
            "period_id": period.id,
            "account_number": number,
            "balance_date": on,
            "debit": debit,
            "credit": credit,
        }


OFFLOAD_BYTES = 2_000_000  # about 5 000 lines; below this, decoding here beats a worker round trip
WINDOW_BYTES = 8_000_000  # about 20 000 lines: a bigger month is asked for in parts
PROBE_DAYS = 8  # the first window of a fiscal year, before its density is known
CHUNK_LINES = 10_000


def decode_ledger_window(
    company_id: str, content: bytes, period: FiscalPeriod, start: date, end: date
) -> list[pa.RecordBatch]:
    """One window's accountingledger XML as ledger batches of about CHUNK_LINES lines each.

    Pure, so it can run in a decode worker. The XML is streamed voucher by voucher, keeping only
    raw text (one list per voucher head, one per line); each chunk of lines is then converted
    column by column with Arrow. Errors name the company, the window, the voucher and the line.
    """
    window = _Window(company_id, start, end)
    if _declares_dtd(content):
        raise window.bad(f"the answer declares a DTD; {_DTD_REFUSED}")
    batches: list[pa.RecordBatch] = []
    chunk = _Chunk()
    try:
        for vouchers in _vouchers(content):
            for voucher in vouchers:
                try:
                    _collect_voucher(voucher, chunk)
                except (ValueError, TypeError) as exc:
                    raise _voucher_error(exc, voucher, chunk, window) from None
                voucher.clear()
                if len(chunk.lines) >= CHUNK_LINES:
                    batches.append(_ledger_batch(company_id, chunk, period, window))
                    chunk = _Chunk()
    except ET.ParseError as exc:  # cut off or garbled after ResponseStatus: the caller asks again
        raise DamagedAnswerError(f"{start}..{end}: {exc}") from None
    if chunk.lines or not batches:
        batches.append(_ledger_batch(company_id, chunk, period, window))
    return batches


_FEED_BYTES = 16 * 1024  # what iterparse feeds too; larger pieces keep more elements alive and run slower


def _vouchers(content: bytes) -> Iterator[list[ET.Element]]:
    """The Voucher elements (any casing or namespace) of `content`, streamed: a list per piece fed to
    the parser, each voucher complete when listed. The stdlib parser (expat, no DTD loaded, nothing
    fetched) reports its end events into a plain list (`XMLParser._setevents`, the hook XMLPullParser
    itself is built on, in both the C and the Python implementation): that skips iterparse's two
    generator layers per element, about a fifth of the parse."""
    parser = ET.XMLParser()
    ended: list[tuple[str, ET.Element]] = []
    parser._setevents(ended, ("end",))  # type: ignore[attr-defined]
    known = _VOUCHER_TAGS
    view = memoryview(content)
    for offset in range(0, len(content), _FEED_BYTES):
        parser.feed(view[offset : offset + _FEED_BYTES])
        if ended:
            # known non-voucher tags are dropped here; a tag not seen before is classified below
            candidates = [element for _, element in ended if known.get(element.tag, True)]
            ended.clear()
            yield [element for element in candidates if known.get(element.tag) or _classify(element.tag)]
    parser.close()
    yield [element for _, element in ended if known.get(element.tag) or _classify(element.tag)]


def _classify(tag: str) -> bool:
    is_voucher = _VOUCHER_TAGS[tag] = _local(tag) == "voucher"
    return is_voucher


class _Window:
    """Where a ledger window's values came from, for errors: company, endpoint and date window."""

    __slots__ = ("company_id", "end", "start")

    def __init__(self, company_id: str, start: date, end: date):
        self.company_id, self.start, self.end = company_id, start, end

    def bad(self, cause: str, where: str = "") -> BadResponseError:
        window = f"window {self.start}..{self.end}"
        return BadResponseError(SOURCE, self.company_id, "accountingledger", f"{window}{where}: {cause}")

    def bad_voucher(self, cause: str, key: str | None, line: int | None = None) -> BadResponseError:
        """An error naming the voucher by its NetvisorKey (and the line, 1-based within the voucher)."""
        return self.bad(
            cause, f", voucher {key or '(no NetvisorKey)'}" + (f", line {line}" if line is not None else "")
        )


_DTD_REFUSED = "Netvisor's answers have none, and entities declared in one are never expanded"


class _DoctypeFoundError(Exception):
    pass


# The first start tag: a '<' that opens neither a declaration ('<!') nor a processing instruction ('<?').
# One inside a comment ends the prolog early, which only makes the search shorter (expat still refuses
# to expand entities past its amplification limit, and fetches nothing).
_FIRST_ELEMENT = re.compile(rb"<[^!?]")


def _declares_dtd(content: bytes) -> bool:
    """Whether the XML has a document type declaration (which could declare entities or point at an
    external DTD). A DTD can only stand before the root element, so only that prolog is searched;
    when it names one, expat says whether it really is a declaration (not text in a comment)."""
    root = _FIRST_ELEMENT.search(content)
    if b"<!DOCTYPE" not in content[: root.start() if root is not None else len(content)]:
        return False

    def found(*_: object) -> None:
        raise _DoctypeFoundError

    parser = xml.parsers.expat.ParserCreate()
    parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = found
    try:
        parser.Parse(content, True)
    except _DoctypeFoundError:
        return True
    except xml.parsers.expat.ExpatError:
        return False  # not well-formed before any DOCTYPE: the decoder reports the damage
    return False


# A voucher's head and a line as collected: raw text by position in these lists.
_V_KEY, _V_DATE, _V_NUMBER, _V_DESCRIPTION, _V_CLASS, _V_CLASS_KEY, _V_STATUS = range(7)
_L_KEY, _L_SUM, _L_DESCRIPTION, _L_ACCOUNT, _L_VAT_PERCENT, _L_VAT_CODE, _L_STATUS, _L_ACCOUNT_DIMENSION = range(8)
_HEAD_WIDTH, _LINE_WIDTH = 7, 8
# Children that are not a plain text slot.
_LINE, _CLASS, _DIMENSION, _ACCOUNT_DIMENSION, _IGNORED = -1, -2, -3, -4, -5

_HEAD_SLOTS_BY_NAME = {
    "netvisorkey": _V_KEY,
    "voucherdate": _V_DATE,
    "vouchernumber": _V_NUMBER,
    "voucherdescription": _V_DESCRIPTION,
    "voucherclass": _CLASS,
    "voucherline": _LINE,
}
_LINE_SLOTS_BY_NAME = {
    "netvisorkey": _L_KEY,
    "linesum": _L_SUM,
    "description": _L_DESCRIPTION,
    "accountnumber": _L_ACCOUNT,
    "vatpercent": _L_VAT_PERCENT,
    "vatcode": _L_VAT_CODE,
    "dimension": _DIMENSION,
    "accountdimension": _ACCOUNT_DIMENSION,
}
# Tag as written (any casing or namespace) -> what it is, memoized: a ledger repeats a few tags millions of times.
_VOUCHER_TAGS: dict[str, bool] = {}
_HEAD_SLOTS: dict[str, int] = {}
_LINE_SLOTS: dict[str, int] = {}


def _slot(memo: dict[str, int], by_name: dict[str, int], tag: str) -> int:
    slot = memo[tag] = by_name.get(_local(tag), _IGNORED)
    return slot


class _Chunk:
    """Raw text of up to about CHUNK_LINES ledger lines, as the XML gave it (nothing converted yet)."""

    __slots__ = ("dimension_counts", "dimensions", "heads", "line_numbers", "lines", "voucher_of_line")

    def __init__(self) -> None:
        self.heads: list[list[str | None]] = []  # per voucher, by _V_* position
        self.lines: list[list[str | None]] = []  # per line, by _L_* position
        self.voucher_of_line: list[int] = []  # index into heads
        self.line_numbers: list[int] = []  # 1-based within the voucher
        self.dimension_counts: list[int] = []  # per line
        self.dimensions: list[tuple[str, str]] = []  # (name, item), line after line

    def drop_unfinished(self) -> None:
        """Drop the lines a voucher that failed half-way left behind (its head and line numbers are
        appended only once it is complete)."""
        lines = len(self.voucher_of_line)
        del self.dimensions[sum(self.dimension_counts[:lines]) :]
        del self.lines[lines:], self.dimension_counts[lines:]


class _BadLineError(ValueError):
    def __init__(self, line: int, cause: str):
        super().__init__(cause)
        self.line = line


def _voucher_error(
    exc: ValueError | TypeError, voucher: ET.Element, chunk: _Chunk, window: _Window
) -> BadResponseError:
    """The error for a voucher outside the documented shape, naming it; but a bad value in an earlier
    voucher comes first, so the error is always the first one in the answer."""
    chunk.drop_unfinished()
    first = _first_bad_value(chunk, window)
    if first is not None:
        return first
    key = _strip(_child(voucher, "NetvisorKey"))
    return window.bad_voucher(str(exc), key, exc.line if isinstance(exc, _BadLineError) else None)


def _collect_voucher(voucher: ET.Element, chunk: _Chunk) -> None:
    """Append one voucher's head and its lines' raw text to `chunk`; structure is checked here
    (dimensions, account dimensions), values when the chunk is converted."""
    status = voucher.get("status")
    if status is None and voucher.keys():
        status = _attr(voucher, "status")
    head: list[str | None] = [None, None, None, None, None, None, status]
    index = len(chunk.heads)
    slots = _HEAD_SLOTS
    number = 0
    for child in voucher:
        tag = child.tag
        slot = slots.get(tag)
        if slot is None:
            slot = _slot(slots, _HEAD_SLOTS_BY_NAME, tag)
        if slot >= 0:
            head[slot] = child.text
        elif slot == _LINE:
            number += 1
            _collect_line(child, number, chunk)
        elif slot == _CLASS:  # a repeated child: the last one counts, as for the others
            head[_V_CLASS] = child.text or ""
            key = child.get("netvisorKey")
            head[_V_CLASS_KEY] = key if key is not None or not child.keys() else _attr(child, "netvisorKey")
    chunk.heads.append(head)
    chunk.voucher_of_line.extend([index] * number)
    chunk.line_numbers.extend(range(1, number + 1))


def _collect_line(line: ET.Element, number: int, chunk: _Chunk) -> None:
    status = line.get("status")
    if status is None and line.keys():
        status = _attr(line, "status")
    row: list[str | None] = [None, None, None, None, None, None, status, None]
    slots = _LINE_SLOTS
    dimensions = 0
    for child in line:
        tag = child.tag
        slot = slots.get(tag)
        if slot is None:
            slot = _slot(slots, _LINE_SLOTS_BY_NAME, tag)
        if slot >= 0:
            row[slot] = child.text
        elif slot == _DIMENSION:
            dimensions += _collect_dimension(child, number, chunk)
        elif slot == _ACCOUNT_DIMENSION:
            row[_L_ACCOUNT_DIMENSION] = _account_dimension(child, number)
    chunk.lines.append(row)
    chunk.dimension_counts.append(dimensions)


def _account_dimension(element: ET.Element, number: int) -> str | None:
    key = _attr(element, "netvisorkey") or None
    if key is None and ((element.text or "").strip() or element.attrib):
        raise _BadLineError(number, "AccountDimension without its netvisorkey attribute")
    return key


def _collect_dimension(element: ET.Element, number: int, chunk: _Chunk) -> int:
    """One `Dimension` of a voucher line: header name and item, or nothing when the item is blank
    (`<DimensionItem> </DimensionItem>`: the line has no item of that header, it is unallocated)."""
    header = item_element = None
    for child in element:  # the first of each counts
        name = _local(child.tag)
        if name == "dimensionitem":
            item_element = child if item_element is None else item_element
        elif name == "dimensionname":
            header = child if header is None else header
    if item_element is None:
        raise _BadLineError(number, "a Dimension without DimensionItem")
    item = (item_element.text or "").strip()
    if not item:
        return 0
    name = (header.text or "").strip() if header is not None else ""
    if not name:
        raise _BadLineError(number, f"dimension item {item!r} without a DimensionName")
    chunk.dimensions.append((name, item))
    return 1


_DIMENSIONS_TYPE = SCHEMAS["ledger"].field("dimensions").type
_TEXT = pa.string()


def _ledger_batch(company_id: str, chunk: _Chunk, period: FiscalPeriod, window: _Window) -> pa.RecordBatch:
    """A chunk's raw text as one ledger batch, converted column by column. When a conversion fails,
    the values are checked one by one to name the first bad one (voucher and line)."""
    try:
        columns = _ledger_columns(chunk, window)
    except (ValueError, pa.ArrowException) as exc:
        first = _first_bad_value(chunk, window)
        if first is not None:
            raise first from None
        raise window.bad(f"a line could not be converted ({exc})") from None
    n = len(chunk.lines)
    columns["company_id"] = pa.repeat(pa.scalar(company_id, _TEXT), n)
    columns["fiscal_year"] = pa.repeat(pa.scalar(int(period.key), pa.int32()), n)
    columns["period_id"] = pa.repeat(pa.scalar(period.id, _TEXT), n)
    schema = SCHEMAS["ledger"]
    return pa.RecordBatch.from_arrays([columns[f] for f in schema.names], schema=schema)


def _ledger_columns(chunk: _Chunk, window: _Window) -> dict[str, pa.Array]:
    heads = _text_columns(chunk.heads, _HEAD_WIDTH)
    lines = _text_columns(chunk.lines, _LINE_WIDTH)
    dates = date_column(heads[_V_DATE], "VoucherDate")
    if (
        dates.null_count
        or pc.any(
            pc.or_(pc.less(dates, pa.scalar(window.start)), pc.greater(dates, pa.scalar(window.end))), min_count=0
        ).as_py()
    ):
        raise ValueError("a VoucherDate outside the window")
    accounts = pc.utf8_trim_whitespace(lines[_L_ACCOUNT])
    if accounts.null_count or not pc.all(pc.utf8_is_alnum(accounts), min_count=0).as_py():  # an empty window passes
        raise ValueError("an account that is not an account number")
    # LineSum is signed by design (debit positive, credit negative): no sign check here.
    line_sum = decimal_column(lines[_L_SUM], MONEY)
    if line_sum.null_count:
        raise ValueError("a LineSum is missing")  # absent is not 0.00
    voucher_of_line = pa.array(chunk.voucher_of_line, pa.int32())
    per_voucher = {
        "voucher_key": pc.utf8_trim_whitespace(heads[_V_KEY]),
        "voucher_number": pc.utf8_trim_whitespace(heads[_V_NUMBER]),
        "voucher_date": dates,
        "voucher_class": pc.utf8_trim_whitespace(heads[_V_CLASS]),
        "voucher_class_key": heads[_V_CLASS_KEY],
        "voucher_description": pc.utf8_trim_whitespace(heads[_V_DESCRIPTION]),
        "voucher_status": _lowered(heads[_V_STATUS], pa.scalar("valid")),
    }
    columns = {name: pc.take(array, voucher_of_line) for name, array in per_voucher.items()}
    vat_code = pc.utf8_trim_whitespace(lines[_L_VAT_CODE])
    columns.update(
        line_key=pc.utf8_trim_whitespace(lines[_L_KEY]),
        line_number=pa.array(chunk.line_numbers, pa.int32()),
        line_status=_lowered(lines[_L_STATUS], columns["voucher_status"]),
        account_number=accounts,
        line_sum=line_sum,
        description=pc.utf8_trim_whitespace(lines[_L_DESCRIPTION]),
        # An absent VatPercent stays null (not 0 %): it is kept for tracing, the books use LineSum only.
        vat_percent=decimal_column(lines[_L_VAT_PERCENT], VAT_PERCENT),
        vat_code=pc.if_else(pc.equal(vat_code, "-"), pa.scalar(None, _TEXT), vat_code),
        account_dimension_key=lines[_L_ACCOUNT_DIMENSION],
        dimensions=_dimension_lists(chunk),
    )
    return columns


def _text_columns(rows: list[list[str | None]], width: int) -> list[pa.Array]:
    """Rows of raw text as one string column per position (one conversion for all, then sliced)."""
    table = pa.array(rows, pa.list_(_TEXT, width))
    return [pc.list_element(table, i) for i in range(width)]


def _lowered(statuses: pa.Array, default: pa.Scalar | pa.Array) -> pa.Array:
    """Status attributes in lower case (Python's rules, through a lookup of the few distinct values);
    absent or empty ones take `default`."""
    encoded = pc.dictionary_encode(statuses)
    lowered = pa.array([s.lower() or None for s in encoded.dictionary.to_pylist()], _TEXT)
    return pc.coalesce(pc.take(lowered, encoded.indices), default)


def _dimension_lists(chunk: _Chunk) -> pa.Array:
    offsets = pa.array([0, *itertools.accumulate(chunk.dimension_counts)], pa.int32())
    pairs = pa.array(chunk.dimensions, pa.list_(_TEXT, 2))
    names, items = pc.list_element(pairs, 0), pc.list_element(pairs, 1)
    entries = pa.StructArray.from_arrays([names, items], fields=list(_DIMENSIONS_TYPE.value_type))
    return pa.ListArray.from_arrays(offsets, entries, type=_DIMENSIONS_TYPE)


def _first_bad_value(chunk: _Chunk, window: _Window) -> BadResponseError | None:
    """The first value in `chunk` that the per-value parsers refuse, as the error naming its voucher
    and line; None when every value passes them."""
    lines_of: dict[int, list[int]] = {}
    for i, voucher in enumerate(chunk.voucher_of_line):
        lines_of.setdefault(voucher, []).append(i)
    for index, head in enumerate(chunk.heads):
        key = head[_V_KEY]
        key = key.strip() if key is not None else None
        try:
            voucher_date = iso_date(head[_V_DATE], "VoucherDate")
            if not window.start <= voucher_date <= window.end:
                raise ValueError(
                    f"VoucherDate {voucher_date} is outside the requested window {window.start}..{window.end}"
                )
        except ValueError as exc:
            return window.bad_voucher(str(exc), key)
        for i in lines_of.get(index, ()):
            row = chunk.lines[i]
            rate = row[_L_VAT_PERCENT]
            try:
                account_number(row[_L_ACCOUNT], "AccountNumber")
                money(row[_L_SUM], "LineSum")
                if rate is not None and rate.strip():  # absent or blank: kept unknown
                    percent(rate, "VatPercent")
            except ValueError as exc:
                return window.bad_voucher(str(exc), key, chunk.line_numbers[i])
    return None


def _client(settings: ClientSettings) -> NetvisorClient:
    return NetvisorClient(
        settings.company_id,
        settings.base_url,
        settings.secrets["customer_id"],
        settings.secrets["customer_key"],
        settings.secrets["partner_id"],
        settings.secrets["partner_key"],
        settings.options.get(ORGANISATION_OPTION) or settings.business_id,
        algorithm=settings.options["netvisor_mac_algorithm"],
        requests_per_second=settings.requests_per_second,
        retry=settings.retry,
    )


SPEC = ErpSpec(
    name=SOURCE,
    title="Netvisor",
    credentials=(
        CredentialField("customer_id", "Customer id of the company's integration user (Netvisor's API identifiers)"),
        CredentialField("customer_key", "Customer key (private key) of that integration user"),
        CredentialField("partner_id", "Partner id Netvisor issued to the software partner running this pipeline"),
        CredentialField("partner_key", "Partner key that goes with the partner id"),
    ),
    default_base_url="https://isvapi.netvisor.fi",
    build_client=_client,
    default_timeout=TIMEOUT,
    default_deadline=DEADLINE,
    max_body_bytes=MAX_BODY_BYTES,
    options=(
        CompanyOption("netvisor_mac_algorithm", "How requests are signed (the MAC's hash)", ALGORITHMS, "HMACSHA256"),
        CompanyOption(
            ORGANISATION_OPTION,
            "The organisation id Netvisor knows the company by, sent as X-Netvisor-Organisation-ID and "
            "signed in the MAC (free text; empty, the default: the company's business_id)",
            (),
            "",
        ),
    ),
    docs="Netvisor API documentation (support.netvisor.fi); docs/erp-apis.md section 1",
    endpoints=(
        Endpoint(SOURCE, "accounts", "company", SCHEMAS["accounts"],
                 "Chart of accounts (accountlist.nv).", lambda c: c.accounts()),
        Endpoint(SOURCE, "periods", "company", SCHEMAS["periods"],
                 "Fiscal years with the accounting lock date (accountingperiodlist.nv).", lambda c: c.periods()),
        Endpoint(SOURCE, "voucher_types", "company", SCHEMAS["voucher_types"],
                 "Voucher types (vouchertypelist.nv).", lambda c: c.voucher_types()),
        Endpoint(SOURCE, "dimensions", "company", SCHEMAS["dimensions"],
                 "Dimension names and items (dimensionlist.nv).", lambda c: c.dimensions()),
        Endpoint(SOURCE, "ledger", "fiscal_year", SCHEMAS["ledger"],
                 "Every voucher line of the fiscal year with voucher and line status, valid, invalidated and "
                 "deleted (accountingledger.nv, date windows within months, voucherstatus=1).",
                 lambda c, p: c.ledger(p)),
        Endpoint(SOURCE, "account_balances", "fiscal_year", SCHEMAS["account_balances"],
                 "Balances Netvisor reports at the fiscal year's end (accountbalance.nv).",
                 lambda c, p: c.account_balances(p)),
    ),
)  # fmt: skip
