"""Fiscal years as the ERPs report them, and the partition key that names them.

The key of a fiscal year is the calendar year in which it ends, so `2025` is the fiscal year
ending in 2025, whether it runs January-December, July-June or is an 18-month first year.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class FiscalPeriod:
    id: str
    start: date
    end: date
    locked: bool | None = False  # None: the ERP does not say (neither open nor closed; refreshed as open)

    @property
    def key(self) -> str:
        return str(self.end.year)

    @property
    def months(self) -> int:
        return (self.end.year - self.start.year) * 12 + self.end.month - self.start.month + 1


def periods_for_key(periods: list[FiscalPeriod], key: str) -> list[FiscalPeriod]:
    """The fiscal years that end in calendar year `key` (normally one; two after a short year)."""
    return sorted((p for p in periods if p.key == key), key=lambda p: p.start)


def month_end(day: date) -> date:
    """The last day of `day`'s calendar month."""
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])
