"""Netvisor client: signed headers on every request, one request at a time per customer, XML parsed
as a stream, ledger windowed by date so a fiscal year is covered with no gap and no overlap.

Contract: docs/erp-apis.md section 1. HMACSHA256 by default, plain SHA256 selectable per company.
Voucher and line statuses are kept, so deletions and invalidations reach the warehouse.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import math
import threading
import time
import uuid
import xml.etree.ElementTree as ET
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
from connectors.parsing import account_number, iso_date, money, unsigned_money
from connectors.schemas import MONEY, VAT_PERCENT
from connectors.spec import ClientSettings, CompanyOption, CredentialField, Endpoint, ErpSpec

SOURCE = "netvisor"
ALGORITHMS = ("HMACSHA256", "SHA256")
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


_LEDGER_TEXT = (
    "voucher_key",
    "voucher_number",
    "voucher_date",
    "voucher_class",
    "voucher_class_key",
    "voucher_description",
    "voucher_status",
    "line_key",
    "line_number",
    "line_status",
    "account_number",
    "line_sum",
    "description",
    "vat_percent",
    "vat_code",
)


def _strip(element: ET.Element | None) -> str | None:
    return element.text.strip() if element is not None and element.text is not None else None


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
            # the MAC's inputs; the HMAC key `customer_key&partner_key` is masked by its parts
            secrets=(customer_id, customer_key, partner_id, partner_key),
        )
        self._lock = _customer_lock(customer_id)
        self.pages_fetched = 0
        self._periods: list[FiscalPeriod] | None = None

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
                "X-Netvisor-Authentication-UseHTTPResponseStatusCodes": "1",
            }
        )

    def get(self, resource: str, params: dict[str, str] | None = None) -> bytes:
        """GET a resource and return the raw XML after checking ResponseStatus."""
        # The query is built by hand and signed exactly as sent (values here are plain ASCII).
        query = "&".join(f"{k}={v}" for k, v in (params or {}).items())
        url = f"{self.base_url}/{resource}" + (f"?{query}" if query else "")
        endpoint = resource.removesuffix(".nv")

        def classify(response: httpx.Response) -> bytes:
            status = self._status(response.content, endpoint, response.status_code)
            if status is None:
                return response.content
            category, text = status
            if category == "AUTHENTICATION_FAILED":
                # Netvisor quotes the expected MAC input (keys masked); keep only the category.
                raise self.session.error(
                    AuthenticationError,
                    endpoint,
                    "authentication failed (AUTHENTICATION_FAILED); "
                    "check the company's Netvisor keys and MAC algorithm",
                )
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
                lock_date = iso_date(text, "AccountingPeriodLockDate") if text else None
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
            number = _text(element, "Number")
            if number is None:
                continue
            rows.append(
                {
                    "company_id": self.company_id,
                    "account_key": _text(element, "NetvisorKey"),
                    "account_number": account_number(number, "Number"),
                    "account_name": _text(element, "Name"),
                    "account_type": _text(element, "AccountType"),
                    "is_active": _text(element, "IsActive") == "1",
                }
            )
        yield pa.RecordBatch.from_pylist(rows, schema=SCHEMAS["accounts"])

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
        rows = []
        content = self.get("dimensionlist.nv", {"showhidden": "1"})
        root = ET.fromstring(content)
        for name in (e for e in root.iter() if _local(e.tag) == "dimensionname" and len(e)):
            type_id, type_name = _text(name, "Netvisorkey"), _text(name, "Name")
            for detail in (d for d in name.iter() if _local(d.tag) == "dimensiondetail"):
                rows.append(
                    {
                        "company_id": self.company_id,
                        "dimension_type_id": type_id,
                        "dimension_type_name": type_name,
                        "item_id": _text(detail, "Netvisorkey"),
                        "item_code": _text(detail, "Name"),
                        "item_name": _text(detail, "Name"),
                        "is_active": (_text(detail, "IsHidden") or "False").lower() != "true",
                    }
                )
        yield pa.RecordBatch.from_pylist(rows, schema=SCHEMAS["dimensions"])

    # -- fiscal-year resources -------------------------------------------------------------------

    def ledger(self, period: FiscalPeriod) -> Iterator[pa.RecordBatch]:
        """Every voucher line of the fiscal year, all statuses (voucherstatus=1), window by window.

        Windows come from a `WindowPlan` (calendar months, split when dense). They are fetched one
        request at a time, ahead of decoding; large ones are decoded in worker processes
        (`connectors.offload`), at most one per worker in flight, and yielded in order. A window
        whose answer is over the body cap is asked for again in halves (down to a single day).
        """
        plan = WindowPlan(period.start, period.end)

        def fetch(window: tuple[date, date]) -> bytes:
            return self.get(
                "accountingledger.nv",
                {"startdate": window[0].isoformat(), "enddate": window[1].isoformat(), "voucherstatus": "1"},
            )

        decoding: deque[Future[list[pa.RecordBatch]]] = deque()
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
                decoding.append(
                    offload.submit(
                        decode_ledger_window,
                        self.company_id,
                        content,
                        period,
                        start,
                        end,
                        offload=len(content) >= OFFLOAD_BYTES,
                    )
                )
                del content
                if len(decoding) > max(0, offload.worker_count() - 1):
                    yield from offload.result(decoding.popleft(), SOURCE, self.company_id, "accountingledger")
            while decoding:
                yield from offload.result(decoding.popleft(), SOURCE, self.company_id, "accountingledger")

    def account_balances(self, period: FiscalPeriod) -> Iterator[pa.RecordBatch]:
        content = self.get("accountbalance.nv", {"balancedates": period.end.isoformat()})
        rows = []
        for account in _elements(content, "Account"):
            number = account_number(_text(account, "Number"), "Number")
            for balance in (c for c in account if _local(c.tag) == "accountbalance"):
                try:
                    rows.append(
                        {
                            "company_id": self.company_id,
                            "fiscal_year": int(period.key),
                            "period_id": period.id,
                            "account_number": number,
                            "balance_date": iso_date(_attr(balance, "Date"), "Date"),
                            # Balance = Debet - Kredit: both are sums of one side, never negative
                            "debit": unsigned_money(_text(balance, "Debet"), "Debet"),
                            "credit": unsigned_money(_text(balance, "Kredit"), "Kredit"),
                        }
                    )
                except ValueError as exc:
                    raise self._bad("accountbalance", f"account {number}: {exc}") from None
        yield pa.RecordBatch.from_pylist(rows, schema=SCHEMAS["account_balances"])


OFFLOAD_BYTES = 2_000_000  # about 5 000 lines; below this, decoding here beats a worker round trip
WINDOW_BYTES = 8_000_000  # about 20 000 lines: a bigger month is asked for in parts
PROBE_DAYS = 8  # the first window of a fiscal year, before its density is known
CHUNK_LINES = 10_000


def decode_ledger_window(
    company_id: str, content: bytes, period: FiscalPeriod, start: date, end: date
) -> list[pa.RecordBatch]:
    """One month's accountingledger XML as ledger batches of about CHUNK_LINES lines each.

    Pure, so it can run in a decode worker; Python objects are held for one chunk at a time.
    """

    def bad(cause: str) -> BadResponseError:
        return BadResponseError(SOURCE, company_id, "accountingledger", cause)

    batches: list[pa.RecordBatch] = []
    text: dict[str, list[object]] = {name: [] for name in _LEDGER_TEXT}
    dims: list[list[dict[str, str | None]]] = []
    for voucher in _elements(content, "Voucher"):
        key = _text(voucher, "NetvisorKey")
        try:
            _collect_voucher(voucher, start, end, text, dims)
        except (ValueError, TypeError) as exc:
            raise bad(f"voucher {key}: {exc}") from None
        if len(dims) >= CHUNK_LINES:
            batches.append(_ledger_batch(company_id, text, dims, period, start, end, bad))
            text, dims = {name: [] for name in _LEDGER_TEXT}, []
    if dims or not batches:
        batches.append(_ledger_batch(company_id, text, dims, period, start, end, bad))
    return batches


def _ledger_batch(
    company_id: str,
    text: dict[str, list[object]],
    dims: list[list[dict[str, str | None]]],
    period: FiscalPeriod,
    start: date,
    end: date,
    bad: Callable[[str], BadResponseError],
) -> pa.RecordBatch:
    n = len(dims)
    try:
        accounts = pc.utf8_trim_whitespace(pa.array(text["account_number"], pa.string()))
        if accounts.null_count or pc.all(pc.utf8_is_alnum(accounts)).as_py() is False:
            raise ValueError("account")
        # LineSum is signed by design (debit positive, credit negative): no sign check here.
        sums = pc.replace_substring(pc.utf8_trim_whitespace(pa.array(text["line_sum"], pa.string())), ",", ".")
        line_sum = sums.fill_null("0").cast(MONEY)
        vat = pc.replace_substring(pa.array(text["vat_percent"], pa.string()), ",", ".")
        vat_percent = vat.fill_null("0").cast(VAT_PERCENT)
    except (ValueError, pa.ArrowException) as exc:
        _name_bad_line(text, bad)
        raise bad(f"{start}..{end}: a line could not be converted ({exc})") from None
    columns = {
        "company_id": pa.array([company_id] * n, pa.string()),
        "fiscal_year": pa.array([int(period.key)] * n, pa.int32()),
        "period_id": pa.array([period.id] * n, pa.string()),
        "voucher_date": pa.array(text["voucher_date"], pa.date32()),
        "line_number": pa.array(text["line_number"], pa.int32()),
        "account_number": accounts,
        "line_sum": line_sum,
        "vat_percent": vat_percent,
        "dimensions": pa.array(dims, SCHEMAS["ledger"].field("dimensions").type),
    }
    for name in (
        "voucher_key",
        "voucher_number",
        "voucher_class",
        "voucher_class_key",
        "voucher_description",
        "voucher_status",
        "line_key",
        "line_status",
        "description",
        "vat_code",
    ):
        columns[name] = pa.array(text[name], pa.string())
    return pa.RecordBatch.from_arrays([columns[f] for f in SCHEMAS["ledger"].names], schema=SCHEMAS["ledger"])


def _name_bad_line(text: dict[str, list[object]], bad: Callable[[str], BadResponseError]) -> None:
    """The vectorized checks failed: find the first bad line and say which voucher and why."""
    for i, key in enumerate(text["voucher_key"]):
        try:
            account_number(text["account_number"][i], "AccountNumber")
            money(text["line_sum"][i], "LineSum")
            money(text["vat_percent"][i], "VatPercent")
        except ValueError as exc:
            raise bad(f"voucher {key}: {exc}") from None


def _collect_voucher(
    voucher: ET.Element, start: date, end: date, text: dict[str, list[object]], dims: list[list[dict[str, str | None]]]
) -> None:
    fields: dict[str, ET.Element] = {}
    lines = []
    for child in voucher:
        name = _local(child.tag)
        if name == "voucherline":
            lines.append(child)
        else:
            fields[name] = child
    voucher_date = iso_date(_strip(fields.get("voucherdate")), "VoucherDate")
    if not start <= voucher_date <= end:
        raise ValueError(f"VoucherDate {voucher_date} is outside the requested window {start}..{end}")
    klass = fields.get("voucherclass")
    status = (_attr(voucher, "status") or "valid").lower()
    head = {
        "voucher_key": _strip(fields.get("netvisorkey")),
        "voucher_number": _strip(fields.get("vouchernumber")),
        "voucher_date": voucher_date,
        "voucher_class": (klass.text or "").strip() if klass is not None else None,
        "voucher_class_key": _attr(klass, "netvisorKey") if klass is not None else None,
        "voucher_description": _strip(fields.get("voucherdescription")),
        "voucher_status": status,
    }
    for number, line in enumerate(lines, start=1):
        values: dict[str, str | None] = {}
        line_dims = []
        for child in line:
            name = _local(child.tag)
            if name == "dimension":
                line_dims.append({"name": _text(child, "DimensionName"), "item": _text(child, "DimensionItem")})
            else:
                values[name] = child.text.strip() if child.text is not None else None
        for column, value in head.items():
            text[column].append(value)
        vat_code = values.get("vatcode")
        text["line_key"].append(values.get("netvisorkey"))
        text["line_number"].append(number)
        text["line_status"].append((_attr(line, "status") or status).lower())
        text["account_number"].append(values.get("accountnumber"))
        text["line_sum"].append(values.get("linesum") or None)
        text["description"].append(values.get("description"))
        text["vat_percent"].append(values.get("vatpercent") or None)
        text["vat_code"].append(None if vat_code in (None, "-") else vat_code)
        dims.append(line_dims)


def _client(settings: ClientSettings) -> NetvisorClient:
    return NetvisorClient(
        settings.company_id,
        settings.base_url,
        settings.secrets["customer_id"],
        settings.secrets["customer_key"],
        settings.secrets["partner_id"],
        settings.secrets["partner_key"],
        settings.business_id,
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
