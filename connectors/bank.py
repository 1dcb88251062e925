"""The bank-aggregator interface, its token set, and the token store.

A connector for another aggregator (Aiia Data, ...) implements `BankAggregator`. Tokens are
persisted atomically to a file only its owner can read; no token ever reaches a log line, an
exception message or a data file.
"""

from __future__ import annotations

import json
import os
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import pyarrow as pa

from connectors.errors import AuthenticationError
from connectors.schemas import MONEY

SCHEMAS: dict[str, pa.Schema] = {
    "bank_accounts": pa.schema(
        [
            ("company_id", pa.string()),
            ("connection_id", pa.string()),
            ("account_id", pa.string()),
            ("provider_id", pa.string()),
            ("name", pa.string()),
            ("iban", pa.string()),
            ("currency", pa.string()),
            ("booked_balance", MONEY),
            ("available_balance", MONEY),
            ("account_type", pa.string()),
        ]
    ),
    "bank_transactions": pa.schema(
        [
            ("company_id", pa.string()),
            ("fiscal_year", pa.int32()),
            ("connection_id", pa.string()),
            ("account_id", pa.string()),
            ("transaction_id", pa.string()),
            ("booking_date", pa.date32()),
            ("state", pa.string()),
            ("amount", MONEY),
            ("currency", pa.string()),
            ("balance", MONEY),
            ("text", pa.string()),
            ("type", pa.string()),
        ]
    ),
}


class ConsentExpiredError(AuthenticationError):
    """The bank consent (PSD2 login) has expired or is missing: a person must re-authorize."""


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    access_expires: datetime
    login_token: str
    login_expires: datetime
    supports_unattended: bool
    provider_id: str
    authorized_at: datetime  # the last supervised login

    def __repr__(self) -> str:  # never print tokens
        return (
            f"TokenSet(provider_id={self.provider_id!r}, login_expires={self.login_expires.isoformat()}, "
            f"supports_unattended={self.supports_unattended})"
        )

    def to_json(self) -> dict[str, Any]:
        return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in asdict(self).items()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TokenSet:
        dates = {"access_expires", "login_expires", "authorized_at"}
        fields: dict[str, Any] = {k: datetime.fromisoformat(v) if k in dates else v for k, v in data.items()}
        return cls(**fields)


class TokenStore:
    """One connection's tokens in a JSON file, written atomically with owner-only permissions."""

    def __init__(self, path: Path):
        self.path = path

    def load(self) -> TokenSet | None:
        if not self.path.exists():
            return None
        return TokenSet.from_json(json.loads(self.path.read_text()))

    def save(self, tokens: TokenSet) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(prefix=".tokens-", dir=self.path.parent)  # created 0600
        try:
            with os.fdopen(fd, "w") as fh:
                json.dump(tokens.to_json(), fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def consent_expiry(tokens: TokenSet | None, fallback_lifetime: timedelta) -> datetime | None:
    """The consent's expiry as the aggregator reported it, else the last supervised login + lifetime."""
    if tokens is None:
        return None
    return tokens.login_expires or tokens.authorized_at + fallback_lifetime


class BankAggregator(ABC):
    """What the pipeline needs from a PSD2 account-information aggregator.

    A client is a context manager: `with aggregator.client(...) as c:` closes it on the way out.
    """

    @abstractmethod
    def close(self) -> None:
        """Release the client's connections."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @abstractmethod
    def start_authorization(self, redirect_url: str) -> str:
        """Begin a supervised login; returns the URL the user must open."""

    @abstractmethod
    def complete_authorization(self, code: str) -> TokenSet:
        """Exchange the code from the redirect for tokens and store them."""

    @abstractmethod
    def consent_expires(self) -> datetime | None:
        """When the current consent ends (None: never authorized)."""

    @abstractmethod
    def accounts(self) -> Iterator[pa.RecordBatch]: ...

    @abstractmethod
    def transactions(self, account_id: str, start: date, end: date, fiscal_year: int) -> Iterator[pa.RecordBatch]: ...
