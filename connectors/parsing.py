"""Value parsers shared by the connectors: money as Decimal(18,2), dates, account numbers, text.

Each parser raises ValueError with a short reason; connectors wrap it in a BadResponseError that
names the company and endpoint. The `*_column` functions convert a whole Arrow string column at
once: they accept what the per-value parsers accept and raise (ValueError or ArrowInvalid) without
saying where; the caller then runs the per-value parser over the column to name the first bad value.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

CENT = Decimal("0.01")
MAX_MONEY = Decimal("9999999999999999.99")  # DECIMAL(18,2)
_FINNISH_DATE = re.compile(r"([0-9]{1,2})\.([0-9]{1,2})\.([0-9]{4})")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_ISO_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}.*")
_FINNISH_DATE_PARTS = r"^(?P<day>[0-9]{1,2})\.(?P<month>[0-9]{1,2})\.(?P<year>[0-9]{4})$"


def money(value: Any, field: str) -> Decimal:
    """Parse an amount given as a JSON number, Decimal, or text with a decimal point or comma.

    Absent (missing, null or blank) is an error, never 0.00: zero is read only where the API writes
    zero. A connector that has a documented reason to accept an absent amount decides that itself,
    in the open, before calling this.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValueError(f"{field}: missing amount")
    if isinstance(value, bool):
        raise ValueError(f"{field}: expected an amount, got {value!r}")
    try:
        amount = Decimal(value) if not isinstance(value, str) else Decimal(value.strip().replace(",", "."))
    except (InvalidOperation, ValueError, TypeError):
        raise ValueError(f"{field}: {value!r} is not a number") from None
    if not amount.is_finite():
        raise ValueError(f"{field}: {value!r} is not a finite number")
    if abs(amount) > MAX_MONEY:  # before quantize: a huge exponent would overflow the context
        raise ValueError(f"{field}: {value!r} does not fit DECIMAL(18,2)")
    if amount != amount.quantize(CENT):
        raise ValueError(f"{field}: {value!r} has more than two decimals")
    return amount.quantize(CENT)


def unsigned_money(value: Any, field: str) -> Decimal:
    """`money` for a debit or a credit where the API documents both as non-negative amounts."""
    amount = money(value, field)
    if amount < 0:
        raise ValueError(f"{field}: {value!r} is negative (debit and credit are non-negative amounts)")
    return amount


def iso_date(value: object, field: str) -> date:
    """Parse exactly a date: `YYYY-MM-DD`, an ISO datetime (`YYYY-MM-DDTHH:MM[:SS[.fff]][Z|±HH:MM]`,
    whose date is taken as written), or Finnish `d.m.yyyy`. The whole text must parse: trailing
    text is an error, not ignored. Surrounding whitespace is allowed."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not value:
        raise ValueError(f"{field}: expected a date, got {value!r}")
    text = value.strip()
    try:
        if match := _FINNISH_DATE.fullmatch(text):
            day, month, year = (int(g) for g in match.groups())
            return date(year, month, day)
        if _ISO_DATE.fullmatch(text):
            return date.fromisoformat(text)
        if _ISO_DATETIME.fullmatch(text):
            return datetime.fromisoformat(text).date()
    except ValueError:
        pass
    raise ValueError(f"{field}: {value!r} is not a valid date")


def account_number(value: object, field: str = "account") -> str:
    """Account numbers are text: keep leading zeros, reject empty values."""
    if value is None:
        raise ValueError(f"{field}: missing account number")
    text = str(value).strip()
    if not text or not text.isalnum():
        raise ValueError(f"{field}: {value!r} is not an account number")
    return text


def text(value: Any, field: str) -> str | None:
    """A text field: absent (null) stays None, text is kept as is, and a JSON number is read as the
    text it was written as (an integer, or a Decimal from an exact decoder: `12`, `1.50`). Any other
    JSON value (true/false, an object, a list, a float whose written form is lost) is an error."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        raise ValueError(f"{field}: {value!r} was decoded as a float; its text is not known exactly")
    shown = repr(value) if isinstance(value, bool) else f"a JSON {type(value).__name__}"
    raise ValueError(f"{field}: expected text, got {shown}")


def decimal_column(values: pa.Array, decimal_type: pa.Decimal128Type) -> pa.Array:
    """Amounts written as text (decimal point or comma, surrounding whitespace allowed) as a DECIMAL
    column, never through float. Absent and blank values are null: whether that is allowed is the
    caller's decision (`money` refuses it). More decimals than the type's scale, or more digits
    than its precision, raise ArrowInvalid."""
    text = pc.utf8_trim_whitespace(values.cast(pa.string()))
    text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
    return pc.replace_substring(text, ",", ".").cast(decimal_type)


def date_column(values: pa.Array, field: str) -> pa.Array:
    """Dates written as text as a date32 column: what `iso_date` accepts. Finnish `d.m.yyyy` (what
    Netvisor writes) is converted in one pass; a column with any other form, or an absent value,
    goes value by value through `iso_date` (ValueError naming the value). An impossible date such
    as 30.2.2024 raises ArrowInvalid."""
    text = pc.utf8_trim_whitespace(values.cast(pa.string()))
    parts = pc.extract_regex(text, _FINNISH_DATE_PARTS)
    if parts.null_count:  # absent, ISO or not a date at all: the exact per-value rules decide
        return pa.array([iso_date(v, field) for v in values.to_pylist()], pa.date32())
    iso = pc.binary_join_element_wise(
        parts.field("year"), pc.utf8_lpad(parts.field("month"), 2, "0"), pc.utf8_lpad(parts.field("day"), 2, "0"), "-"
    )
    return iso.cast(pa.date32())  # strict: no day 30 of February, no month 13


def percent(value: Any, field: str) -> Decimal:
    """A percentage (a VAT rate) as Decimal with at most two decimals, fitting DECIMAL(5,2)."""
    rate = money(value, field)
    if abs(rate) >= 1000:
        raise ValueError(f"{field}: {value!r} does not fit DECIMAL(5,2)")
    return rate
