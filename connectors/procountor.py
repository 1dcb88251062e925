"""Procountor client: M2M token, receipts listed then read in batches of 200, VAT lines derived.

Contract: Procountor's OpenAPI description 25.12.0 and dev.procountor.com (docs/erp-apis.md section 2
and its corrections). Which receipts are in the books is decided by `receipt_rule` alone; the others
are kept as one row each with the reason. Transactions carry *net* values: the connector adds the
VAT they imply (`vat_lines`), honouring each transaction's own VAT status and deduction percent.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import httpx
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from connectors import offload, schemas
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
# Batch answers decoded together into one RecordBatch (about 4 000 ledger rows, one Parquet row group);
# how many batches a year reads before decode workers start (smaller years decode here), and how many
# groups may be decoding at once (at 18 requests/s one worker has time to spare; unthrottled, two).
DECODE_GROUP = 8
OFFLOAD_AFTER = 5
DECODE_AHEAD = 2
EXCLUDED_ROWS = 4_000  # header rows of receipts outside the books gathered before they are written

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


LEDGER_SCHEMA = SCHEMAS["ledger"]

# -- decoding receipt batches --------------------------------------------------------------------------
# A batch body is decoded with orjson when every JSON number in it is exact as a double, else with the
# stdlib and Decimal as before. Exact as a double: a number of at most 15 significant digits and no
# exponent has exactly one such decimal per double (DBL_DIG), so `repr` of the double gives its text's
# value back, and for amounts `round(x * 100)` the exact cents (`_cents` proves them by division).
# Without an exponent, such a number lies between 1e-14 and 1e15 (or is 0), inside the normal range.
# The check is on the bytes, not the decoded value: a run of 16 digits (or points) or a digit before
# an e/E anywhere, strings included, sends the body to the exact decoder.
_SHAPES = bytes(48 if chr(b) in "0123456789." else 101 if chr(b) in "eE" else 32 for b in range(256))  # 0, e, space
_LONG_NUMBER = b"0" * 16
_EXPONENT = b"0e"
_DOUBLE_EXACT = 1e13  # |amount| below this: its cents (< 10^15) are exact in a double
_MAX_HUNDREDTHS = 10**5 - 1  # DECIMAL(5,2)


def exact_as_double(content: bytes) -> bool:
    """True when no number in `content` can lose digits as a double (no run of 16 digits, no exponent)."""
    shapes = content.translate(_SHAPES)
    return _LONG_NUMBER not in shapes and _EXPONENT not in shapes


def decode_json(content: bytes) -> Any:
    """A JSON body decoded exactly: orjson where its doubles are exact (see above), else Decimals.

    Raises ValueError (or UnicodeDecodeError) for what is not JSON. A body orjson refuses is read
    by the stdlib, as before orjson was used (it takes NaN and Infinity; `money` refuses them)."""
    if exact_as_double(content):
        try:
            return orjson.loads(content)
        except orjson.JSONDecodeError:
            pass
    return json.loads(content, parse_float=Decimal)


def _exact_json(content: bytes) -> Any:
    return json.loads(content, parse_float=Decimal)


def _bytes(content: bytes) -> bytes:
    return content


def _checked_bytes(content: bytes) -> bytes:
    decode_json(content)  # ValueError for a garbled body: asked for again
    return content


def _decodes(content: bytes) -> bool:
    try:
        decode_json(content)
    except (ValueError, UnicodeDecodeError):
        return False
    return True


def _bodies(answer: bytes | None) -> list[bytes]:
    return [] if answer is None else [answer]


def _half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded to the nearest integer, halves away from zero (ROUND_HALF_UP)."""
    q, r = divmod(abs(numerator), denominator)
    q += 2 * r >= denominator
    return q if numerator >= 0 else -q


def _cents(value: Any, field: str) -> int:
    """An amount (`money`'s rules) as whole cents. A double from orjson is exact by `exact_as_double`:
    c = round(x * 100) is the text's cents exactly when c / 100 gives x back; any other double (more
    than two decimals, or too large to prove) is judged by `money` from its exact decimal text."""
    if type(value) is float and -_DOUBLE_EXACT < value < _DOUBLE_EXACT:
        cents = round(value * 100)
        if cents / 100 == value:
            return cents
    if type(value) is int and -_DOUBLE_EXACT < value < _DOUBLE_EXACT:
        return value * 100
    return int(money(Decimal(repr(value)) if type(value) is float else value, field).scaleb(2))


def _hundredths(value: Any, field: str) -> int:
    """A percent (DECIMAL(5,2)) in hundredths, read as `Decimal(str(value))` was; more than two
    decimals or 1000 % and over is an error."""
    if type(value) is float and -_DOUBLE_EXACT < value < _DOUBLE_EXACT:
        hundredths = round(value * 100)
        if hundredths / 100 != value:
            raise ValueError(f"{field} {value!r} has more than two decimals")
    elif type(value) is int:
        hundredths = value * 100
    else:
        try:
            exact = Decimal(repr(value) if type(value) is float else str(value))
            if not exact.is_finite() or exact != exact.quantize(CENT):
                raise InvalidOperation
        except InvalidOperation:
            raise ValueError(f"{field} {value!r} is not a percent with at most two decimals") from None
        hundredths = int(exact.scaleb(2))
    if abs(hundredths) > _MAX_HUNDREDTHS:
        raise ValueError(f"{field} {value!r} does not fit DECIMAL(5,2)")
    return hundredths


def _percent_text(hundredths: int) -> str:
    """A percent as text with at least one decimal (24.0, 25.5, 13.75), whichever decoder read it."""
    whole, part = divmod(abs(hundredths), 100)
    sign = "-" if hundredths < 0 else ""
    return f"{sign}{whole}.{part // 10}" if part % 10 == 0 else f"{sign}{whole}.{part:02d}"


def _decimal(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


@dataclass(frozen=True)
class LedgerContext:
    """What decoding a fiscal year's receipts needs besides the bytes (plain data: it goes to workers)."""

    company_id: str
    fiscal_year: int
    period_id: str
    vat_payable: str
    vat_receivable: str


class Unanswered(NamedTuple):
    """Receipts a batch did not return: (position of the batch in its group, the ids left out)."""

    batches: tuple[tuple[int, tuple[str, ...]], ...]


# One batch as fetched: the ids asked for, and the bodies that answered (none for a 404, two when the
# ids left out were asked for again).
AnsweredBatch = tuple[list[str], list[bytes]]


def decode_receipts(context: LedgerContext, batches: list[AnsweredBatch]) -> pa.RecordBatch | Unanswered:
    """The ledger rows of these batches' receipts in the order asked, or the ids they left out.

    A module-level function of plain data, so it can run in a decode worker (`connectors.offload`).
    Malformed JSON raises `Retry`; anything else wrong is a BadResponseError naming the receipt."""
    ledger = LedgerColumns(context, "ledgerreceipts/{ids}")
    left_out: list[tuple[int, tuple[str, ...]]] = []
    for position, (ids, bodies) in enumerate(batches):
        found: dict[str, Any] = {}
        for body in bodies:
            found.update(_batch_receipts(context, ids, body))
        missing = tuple(i for i in ids if i not in found)
        if missing:
            left_out.append((position, missing))
        elif not left_out:  # one batch's receipts as dicts at a time
            for i in ids:
                ledger.add_receipt(found[i])
    return Unanswered(tuple(left_out)) if left_out else ledger.batch()


def _batch_receipts(context: LedgerContext, ids: list[str], body: bytes) -> dict[str, Any]:
    """The receipts of one answer by id; a receipt not asked for is an error."""
    try:
        data = decode_json(body)
    except (ValueError, UnicodeDecodeError):
        raise Retry("malformed JSON in a batch of ledger receipts") from None
    items = [data] if isinstance(data, dict) and len(ids) == 1 else data
    if not isinstance(items, list) or not all(isinstance(d, dict) and "id" in d for d in items):
        raise BadResponseError(
            SOURCE, context.company_id, "ledgerreceipts/{ids}",
            f"a batch of {len(ids)} ids did not answer a list of receipts",
        )  # fmt: skip
    out = {str(d["id"]): d for d in items}
    extra = set(out) - set(ids)
    if extra:
        raise BadResponseError(
            SOURCE, context.company_id, "ledgerreceipts/{ids}", f"receipts not asked for came back: {sorted(extra)[:5]}"
        )
    return out


# The ledger's columns filled per receipt and per row, in schema order (company, fiscal year and period
# are the same on every row of a batch).
RECEIPT_FIELDS = ("receipt_id", "receipt_type", "receipt_status", "receipt_number", "receipt_date",
                  "receipt_version", "name", "exclusion_reason")  # fmt: skip
ROW_FIELDS = ("line_number", "transaction_type", "account_number", "amount", "vat_percent", "vat_type",
              "vat_status", "vat_deduction_percent", "is_derived_vat", "derived_from_line", "description")  # fmt: skip
_NO_LINE = (None,) * len(ROW_FIELDS)


class LedgerColumns:
    """Ledger rows gathered as tuples (receipt fields once per receipt), then one RecordBatch.

    Amounts are whole cents and percents hundredths (ints), computed exactly and turned into Arrow
    decimals without a Decimal per value. Errors name the company, the endpoint and the receipt."""

    def __init__(self, context: LedgerContext, endpoint: str):
        self.context, self.endpoint = context, endpoint
        self._dates: dict[str, Any] = {}
        self._accounts: dict[str, str] = {}
        self.receipts: list[tuple[Any, ...]] = []  # RECEIPT_FIELDS
        self.rows: list[tuple[Any, ...]] = []  # receipt position, ROW_FIELDS, end of its splits
        self.splits: list[tuple[str, str, int]] = []  # dimension id, item id, cents

    def add_receipt(self, receipt: Any) -> None:
        """A receipt's rows: its transactions and derived VAT when in the books, else one header row."""
        try:
            reason = receipt_rule.reason_excluded(receipt)
            if reason is not None:  # its status changed after the index was read: as the detail says
                self.add_excluded(receipt, reason)
                return
            transactions = receipt["transactions"]
            if not isinstance(transactions, list) or not transactions:
                raise ValueError("a receipt in the books without transactions")
            self._header(receipt, None)
            number, position = 0, len(self.receipts) - 1
            status, vat_type = receipt.get("vatStatus"), receipt.get("vatType")
            for t in transactions:
                number = self._transaction(t, position, status, vat_type, number)
        except (KeyError, TypeError, ValueError, ArithmeticError, AttributeError) as exc:
            rid = receipt.get("id") if isinstance(receipt, dict) else None
            raise BadResponseError(SOURCE, self.context.company_id, self.endpoint, f"receipt {rid}: {exc}") from None

    def add_excluded(self, receipt: dict[str, Any], reason: str) -> None:
        """A receipt outside the books: one header row with the reason (ValueError if bad)."""
        self._header(receipt, reason)
        self.rows.append((len(self.receipts) - 1, *_NO_LINE, len(self.splits)))

    def _header(self, r: dict[str, Any], reason: str | None) -> None:
        rid = str(r["id"])
        raw_date = r.get("receiptDate")
        day = self._dates.get(raw_date) if type(raw_date) is str else None
        if day is None:
            day = iso_date(raw_date, "receiptDate")
            if type(raw_date) is str:
                self._dates[raw_date] = day
        number = r.get("receiptNumber")
        self.receipts.append(
            (rid, r.get("type"), r.get("status"), None if number is None else str(number), day, r.get("version"),
             r.get("name"), reason)
        )  # fmt: skip

    def _account(self, value: Any) -> str:
        """An account number, checked once per distinct text."""
        number = account_number(value, "account")
        if type(value) is str:
            self._accounts[value] = number
        return number

    def _transaction(self, t: Any, position: int, receipt_status: Any, receipt_vat_type: Any, number: int) -> int:
        """Add a transaction's row and its VAT rows after row `number`; returns the last row's number.
        `receipt_status` and `receipt_vat_type` are the receipt's, for a row that has none of its own."""
        try:
            get = t.get
            amount = _cents(get("accountingValue"), "accountingValue")  # debit +, credit -
            pct = _hundredths(get("vatPercent") or 0, "vatPercent")
            status = get("vatStatus", receipt_status)  # the row's status overrides the receipt's
            status = None if status is None else int(status)
            deduction = get("vatDeductionPercent")
            deduction = None if deduction is None else _hundredths(deduction, "vatDeductionPercent")
            dimensions = get("dimensionItemValues")
            splits = [
                # required by the spec: the amount booked to the item
                (str(d["dimensionId"]), str(d["itemId"]), _cents(d.get("value"), "dimensionItemValues.value"))
                for d in dimensions
            ] if dimensions else []  # fmt: skip
            account = get("account")
            account = (self._accounts.get(account) if type(account) is str else None) or self._account(account)
            vat_type = get("vatType") or receipt_vat_type
            if splits:
                self.splits += splits
            number += 1
            self.rows.append(
                (position, number, get("transactionType"), account, amount, pct, vat_type, status, deduction, False,
                 None, get("description"), len(self.splits))
            )  # fmt: skip
            if pct:
                number = self._vat_rows(t, number, account, amount, pct, vat_type, status, deduction, splits)
            return number
        except (KeyError, TypeError, ValueError, ArithmeticError, AttributeError) as exc:
            tid = t.get("id") if isinstance(t, dict) else None
            raise ValueError(f"transaction {tid}: {exc}") from None

    def _vat_rows(
        self,
        t: dict[str, Any],
        number: int,
        account: str,
        amount: int,
        pct: int,
        vat_type: Any,
        status: int | None,
        deduction: int | None,
        splits: list[tuple[str, str, int]],
    ) -> int:
        """The VAT postings a net transaction implies, rounded half up to the cent.

        Domestic sales: the VAT to the VAT payable account. Domestic purchases: the deductible share
        (vatDeductionPercent, 100 when absent) to the VAT receivable account, the rest stays on the
        transaction's own account with its dimension split. No-VAT statuses post nothing and must
        not carry a VAT percent (Procountor: a status other than domestic takes 0 %). A percent
        without a status, or under one not in VAT_STATUSES, fails the read.
        """
        shown = _percent_text(pct)
        if status is None:
            raise ValueError(f"vatPercent {shown} without a vatStatus on the row or the receipt")
        treatment = VAT_STATUSES.get(status)
        if treatment is None:
            raise ValueError(
                f"vatStatus {status} with vatPercent {shown} is not a VAT status the connector knows "
                f"({sorted(VAT_STATUSES)}); its treatment must be added to VAT_STATUSES"
            )
        if treatment == NO_VAT:
            raise ValueError(f"vatPercent {shown} under vatStatus {status}, which has no VAT")
        vat = _half_up(amount * pct, 10_000)  # cents x hundredths of a percent / 10 000 = cents
        line = number
        for target, share, text in self._vat_parts(account, vat, shown, vat_type, deduction):
            if share == 0:
                continue
            if target == account:  # the non-deductible VAT stays on the expense, split like it
                self.splits += _split_like(splits, share, amount)
            number += 1
            self.rows.append(
                (len(self.receipts) - 1, number, "VAT", target, share, 0, vat_type, status, None, True, line,
                 f"{text} (transaction {t.get('id')})", len(self.splits))
            )  # fmt: skip
        return number

    def _vat_parts(
        self, account: str, vat: int, shown: str, vat_type: Any, deduction: int | None
    ) -> list[tuple[str, int, str]]:
        """(account, cents, description) of each VAT posting of a domestic sale or purchase."""
        if vat_type == "SALES":
            if deduction not in (None, 10_000):
                raise ValueError(f"a sale with vatDeductionPercent {_percent_text(deduction or 0)}")
            return [(self.context.vat_payable, vat, f"ALV {shown}%")]
        if vat_type == "PURCHASE":
            deduction = 10_000 if deduction is None else deduction
            if not 0 <= deduction <= 10_000:
                raise ValueError(f"vatDeductionPercent {_percent_text(deduction)} is not between 0 and 100")
            deductible = _half_up(vat * deduction, 10_000)
            return [
                (self.context.vat_receivable, deductible, f"ALV {shown}%, vähennettävä {_percent_text(deduction)}%"),
                (account, vat - deductible, f"ALV {shown}%, vähennyskelvoton osuus"),
            ]
        raise ValueError(f"vatPercent {shown} without a SALES/PURCHASE vatType ({vat_type!r})")

    # -- to Arrow ----------------------------------------------------------------------------------

    def take_batch(self) -> pa.RecordBatch:
        """The rows gathered so far as one RecordBatch; the columns start empty again."""
        batch = self.batch()
        self.receipts, self.rows, self.splits = [], [], []
        return batch

    def batch(self) -> pa.RecordBatch:
        """The rows as one RecordBatch of the ledger schema; a value Arrow refuses fails naming its row."""
        count, context = len(self.rows), self.context
        columns = list(zip(*self.rows, strict=True)) or [()] * (len(ROW_FIELDS) + 2)
        by_receipt = list(zip(*self.receipts, strict=True)) or [()] * len(RECEIPT_FIELDS)
        per_receipt = dict(zip(RECEIPT_FIELDS, by_receipt, strict=True))
        per_receipt["is_official"] = tuple(reason is None for reason in per_receipt["exclusion_reason"])
        per_row = dict(zip(ROW_FIELDS, columns[1:-1], strict=True))
        by_row = pa.array(columns[0], pa.int32())
        arrays: list[pa.Array] = [
            pa.repeat(pa.scalar(context.company_id, pa.string()), count),
            pa.repeat(pa.scalar(context.fiscal_year, pa.int32()), count),
            pa.repeat(pa.scalar(context.period_id, pa.string()), count),
        ]
        for field in LEDGER_SCHEMA:
            if field.name in per_receipt:
                arrays.append(self._array(field, per_receipt[field.name], True).take(by_row))
            elif field.name in per_row:
                arrays.append(self._array(field, per_row[field.name], False))
        arrays.append(self._dimensions((0, *columns[-1])))
        return pa.RecordBatch.from_arrays(arrays, schema=LEDGER_SCHEMA)

    def _array(self, field: pa.Field, values: tuple[Any, ...], per_receipt: bool) -> pa.Array:
        if pa.types.is_decimal(field.type):  # ints in units of the type's last digit
            return _scaled(values, field.type, lambda n: self._refused(field, values[n], n, per_receipt))
        try:
            return pa.array(values, field.type)
        except (pa.ArrowException, OverflowError, TypeError, ValueError):
            for n, value in enumerate(values):
                try:
                    pa.array([value], field.type)
                except (pa.ArrowException, OverflowError, TypeError, ValueError) as exc:
                    raise self._refused(field, value, n, per_receipt, exc) from None
            raise

    def _refused(
        self, field: pa.Field, value: Any, n: int, per_receipt: bool, exc: BaseException | None = None
    ) -> BadResponseError:
        """The error for row (or receipt) `n`, whose `value` of `field` Arrow refused."""
        receipt = n if per_receipt else self.rows[n][0]
        where = f"receipt {self.receipts[receipt][0]}" + ("" if per_receipt else f", row {self.rows[n][1]}")
        if pa.types.is_decimal(field.type) and isinstance(value, int):
            value = Decimal(value).scaleb(-field.type.scale)
        detail = f": {exc}" if exc is not None else ""
        return BadResponseError(
            SOURCE, self.context.company_id, self.endpoint,
            f"{where}: {field.name} {value!r} does not fit {field.type}{detail}",
        )  # fmt: skip

    def _dimensions(self, ends: tuple[int, ...]) -> pa.Array:
        ids, items, cents = zip(*self.splits, strict=True) if self.splits else ((), (), ())
        amounts = _scaled(cents, MONEY, self._refused_split)
        splits = pa.StructArray.from_arrays(
            [pa.array(ids, pa.string()), pa.array(items, pa.string()), amounts], fields=list(DIMENSION_SPLIT)
        )
        return pa.ListArray.from_arrays(pa.array(ends, pa.int32()), splits, type=pa.list_(DIMENSION_SPLIT))

    def _refused_split(self, n: int) -> BadResponseError:
        row = next(r for r, values in enumerate(self.rows) if values[-1] > n)
        return BadResponseError(
            SOURCE, self.context.company_id, self.endpoint,
            f"receipt {self.receipts[self.rows[row][0]][0]}, row {self.rows[row][1]}: a dimension amount "
            f"does not fit {MONEY}",
        )  # fmt: skip


def _scaled(values: tuple[int | None, ...], kind: pa.DataType, refused: Callable[[int], Exception]) -> pa.Array:
    """Ints counting the decimal type's last digit (cents for DECIMAL(18,2)) as that decimal type:
    the same 128-bit integers, so the int array is cast to DECIMAL(19,0) and read as `kind`."""
    limit = 10**kind.precision - 1
    try:
        ints = pa.array(values, pa.int64())
    except (pa.ArrowException, OverflowError):
        ints = None
    if ints is not None and ints.null_count < len(ints):
        low, high = pc.min_max(ints).values()
        if low.as_py() < -limit or high.as_py() > limit:
            ints = None
    if ints is None:
        raise refused(next(n for n, v in enumerate(values) if v is not None and abs(v) > limit))
    return ints.cast(pa.decimal128(19, 0)).view(kind)


def _split_like(splits: list[tuple[str, str, int]], amount: int, whole: int) -> list[tuple[str, str, int]]:
    """The dimension split of a row of `whole` cents, scaled to `amount` (per dimension type, to the cent)."""
    by_type: dict[str, list[tuple[str, str, int]]] = {}
    for split in splits:
        by_type.setdefault(split[0], []).append(split)
    out: list[tuple[str, str, int]] = []
    for entries in by_type.values():
        shares = _share(_decimal(amount), [_decimal(e[2]) for e in entries], _decimal(whole))
        out.extend((d, i, int(s.scaleb(2))) for (d, i, _), s in zip(entries, shares, strict=True))
    return out


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


class _TokenCache:
    """Access tokens kept in this process's memory for their lifetime, per company environment (URL, API
    client, secret and API key): every step of a run opens its own client for a company, and a new
    token for each would spend one of the API client's 20 requests/s. Never written anywhere."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[tuple[Any, ...], tuple[str, float]] = {}

    def get(self, key: tuple[Any, ...], now: float) -> tuple[str, float] | None:
        with self._lock:
            held = self._tokens.get(key)
            if held is not None and now >= held[1]:
                del self._tokens[key]
                return None
            return held

    def put(self, key: tuple[Any, ...], token: str, expires: float) -> None:
        with self._lock:
            self._tokens[key] = (token, expires)

    def drop(self, key: tuple[Any, ...], token: str | None) -> None:
        """Forget the token a server refused (a newer one another client fetched stays)."""
        with self._lock:
            if token is not None and self._tokens.get(key, (None,))[0] == token:
                del self._tokens[key]


_TOKENS = _TokenCache()


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
        # the transport and clock belong to the key: a test's scripted server or clock never sees another's token
        digest = hashlib.sha256(f"{client_id}\0{client_secret}\0{api_key}".encode()).hexdigest()
        self._token_key = (base_url.rstrip("/"), digest, transport, clock)
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
                held = _TOKENS.get(self._token_key, self._clock())
                if held is None:
                    self._fetch_token()
                    _TOKENS.put(self._token_key, self._token or "", self._token_expires)
                else:
                    self._token, self._token_expires = held
                    self.session.register_secret(self._token)
            request.headers["Authorization"] = f"Bearer {self._token}"

    def _renew_after_401(self) -> bool:
        with self._token_lock:
            _TOKENS.drop(self._token_key, self._token)
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
        decode: Callable[[bytes], Any] = _exact_json,
    ) -> Any:
        """Send a request with the current token and return the body through `decode` (by default
        JSON with Decimals, any shape); with `missing_ok`, a 404 answers None."""

        def classify(response: httpx.Response) -> Any:
            if response.status_code == 404 and missing_ok:
                return None
            if response.status_code >= 400:
                # a 4xx is the server's verdict on this request (even as a gateway's HTML page): not retried
                raise self._bad(endpoint, self._vendor_error(response))
            try:
                return decode(response.content)
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
        seen: set[int | str] = set()
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
                data = self.get("ledgerreceipts", "ledgerreceipts", params, decode=decode_json)
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
                    key = r["id"] if type(r["id"]) is int else str(r["id"])  # an int is half a str's memory
                    if key not in seen:
                        seen.add(key)
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
        """The receipts in the books read in detail, 200 ids a call, as the index is still being read;
        the receipts outside the books, one header row each (from the index), follow in batches."""
        context = LedgerContext(self.company_id, int(period.key), period.id, self.vat_payable, self.vat_receivable)
        excluded = LedgerColumns(context, "ledgerreceipts")
        fetched = self._fetched(self._booked_batches(pages, period, excluded))
        for batch in self._decoded(fetched, context):
            yield batch
            if len(excluded.rows) >= EXCLUDED_ROWS:  # a large year's are not all held to the end
                yield excluded.take_batch()
        yield excluded.take_batch()

    def _booked_batches(
        self, pages: Iterable[list[dict[str, Any]]], period: FiscalPeriod, excluded: LedgerColumns
    ) -> Iterator[list[str]]:
        """Ids of the receipts in the books, 200 at a time, as the index pages arrive; the others go
        to `excluded`. Only ids are kept: a large year's index as dicts would be hundreds of MB."""
        ids: list[str] = []
        for page in pages:
            for r in page:
                try:
                    reason = receipt_rule.reason_excluded(r)
                    if reason:
                        excluded.add_excluded(r, reason)
                    else:
                        ids.append(str(r["id"]))
                except (KeyError, TypeError, ValueError) as exc:
                    raise self._bad("ledgerreceipts", f"fiscal year {period.key}: {exc}") from None
            while len(ids) >= MAX_IDS_PER_CALL:
                yield ids[:MAX_IDS_PER_CALL]
                del ids[:MAX_IDS_PER_CALL]
        if ids:
            yield ids

    def _fetched(self, batches: Iterable[list[str]]) -> Iterator[AnsweredBatch]:
        """Each batch's answer as bytes, in order, with at most two requests per connection in flight
        (pool.map would read ahead without bound)."""
        in_flight: deque[tuple[list[str], Future[bytes | None]]] = deque()
        with ThreadPoolExecutor(max_workers=self.max_concurrency, thread_name_prefix="procountor") as pool:
            for ids in batches:
                in_flight.append((ids, pool.submit(self._raw_batch, ids)))
                while in_flight and (len(in_flight) >= 2 * self.max_concurrency or in_flight[0][1].done()):
                    ids, answer = in_flight.popleft()
                    yield ids, _bodies(answer.result())
            while in_flight:
                ids, answer = in_flight.popleft()
                yield ids, _bodies(answer.result())

    def _decoded(self, fetched: Iterable[AnsweredBatch], context: LedgerContext) -> Iterator[pa.RecordBatch]:
        """Groups of DECODE_GROUP answers decoded into one RecordBatch each, in order.

        A year of more than OFFLOAD_AFTER batches starts the decode workers (`connectors.offload`);
        groups are decoded here until they are ready, then in a worker while this process fetches,
        at most DECODE_AHEAD groups at a time."""
        decoding: deque[tuple[list[AnsweredBatch], Future[pa.RecordBatch | Unanswered]]] = deque()
        group: list[AnsweredBatch] = []
        for n, answered in enumerate(fetched, start=1):
            group.append(answered)
            if n == OFFLOAD_AFTER + 1:
                offload.starting()  # they start now, while the rest of the group is fetched
            if len(group) == DECODE_GROUP:
                away = n > OFFLOAD_AFTER and offload.ready()
                decoding.append((group, offload.submit(decode_receipts, context, group, offload=away)))
                group = []
            while decoding and (len(decoding) > DECODE_AHEAD or decoding[0][1].done()):
                yield self._settled(*decoding.popleft(), context)
        if group:
            decoding.append((group, offload.submit(decode_receipts, context, group, offload=False)))
        while decoding:
            yield self._settled(*decoding.popleft(), context)

    def _settled(
        self, group: list[AnsweredBatch], future: Future[pa.RecordBatch | Unanswered], context: LedgerContext
    ) -> pa.RecordBatch:
        """A decoded group; a garbled body is asked for again (checked here, with retries), receipts a
        batch left out are asked for once more, and still missing, the read fails naming them."""
        try:
            result = offload.result(future, SOURCE, self.company_id, "ledgerreceipts/{ids}")
        except Retry:
            group = [
                (ids, bodies if all(map(_decodes, bodies)) else _bodies(self._raw_batch(ids, checked=True)))
                for ids, bodies in group
            ]
            result = decode_receipts(context, group)
        if isinstance(result, Unanswered):
            group = list(group)
            for position, missing in result.batches:
                ids, bodies = group[position]
                group[position] = (ids, bodies + _bodies(self._raw_batch(list(missing), checked=True)))
            result = decode_receipts(context, group)
        if isinstance(result, Unanswered):
            position, missing = result.batches[0]
            asked = len(group[position][0])
            shown = ", ".join(missing[:20]) + (f" and {len(missing) - 20} more" if len(missing) > 20 else "")
            raise self._bad(
                "ledgerreceipts/{ids}", f"{len(missing)} of {asked} receipts asked for did not come back: {shown}"
            )
        return result

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

    def _raw_batch(self, ids: list[str], checked: bool = False) -> bytes | None:
        """The answer to GET /ledgerreceipts/{ids} as bytes (None for a 404: none of them known);
        `checked`: decoded here first, so a garbled body is asked for again."""
        with self._count_lock:
            self.detail_calls += 1
        path = "ledgerreceipts/" + ",".join(ids)
        raw: bytes | None = self.get(
            path, "ledgerreceipts/{ids}", missing_ok=True, decode=_checked_bytes if checked else _bytes
        )
        return raw

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
