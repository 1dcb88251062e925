"""Value parsers shared by the connectors: money as Decimal(18,2), dates, account numbers.

Each parser raises ValueError with a short reason; connectors wrap it in a BadResponseError that
names the company and endpoint.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

CENT = Decimal("0.01")
MAX_MONEY = Decimal("9999999999999999.99")  # DECIMAL(18,2)
_FINNISH_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})")


def money(value: Any, field: str) -> Decimal:
    """Parse an amount given as a JSON number, Decimal, or text with a decimal point or comma."""
    if value is None or value == "":
        return Decimal("0.00")
    if isinstance(value, bool):
        raise ValueError(f"{field}: expected an amount, got {value!r}")
    try:
        amount = Decimal(value) if not isinstance(value, str) else Decimal(value.strip().replace(",", "."))
    except (InvalidOperation, ValueError, TypeError):
        raise ValueError(f"{field}: {value!r} is not a number") from None
    if not amount.is_finite():
        raise ValueError(f"{field}: {value!r} is not a finite number")
    if amount != amount.quantize(CENT):
        raise ValueError(f"{field}: {value!r} has more than two decimals")
    if abs(amount) > MAX_MONEY:
        raise ValueError(f"{field}: {value!r} does not fit DECIMAL(18,2)")
    return amount.quantize(CENT)


def iso_date(value: object, field: str) -> date:
    """Parse `YYYY-MM-DD` (optionally with a time part) or Finnish `d.m.yyyy`."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not value:
        raise ValueError(f"{field}: expected a date, got {value!r}")
    text = value.strip()
    match = _FINNISH_DATE.match(text)
    try:
        if match:
            day, month, year = (int(g) for g in match.groups())
            return date(year, month, day)
        return date.fromisoformat(text[:10])
    except ValueError:
        raise ValueError(f"{field}: {value!r} is not a valid date") from None


def account_number(value: object, field: str = "account") -> str:
    """Account numbers are text: keep leading zeros, reject empty values."""
    if value is None:
        raise ValueError(f"{field}: missing account number")
    text = str(value).strip()
    if not text or not text.isalnum():
        raise ValueError(f"{field}: {value!r} is not an account number")
    return text
