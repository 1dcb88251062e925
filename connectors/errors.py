"""Exceptions raised by the connectors: each names the source, company, endpoint and cause.

Messages are built only from these parts, never from request headers or bodies, so no
credential can reach a log line through an exception.
"""

from __future__ import annotations

from typing import Self


class ConnectorError(Exception):
    """A request to a source API failed in a way the caller should see."""

    def __init__(self, source: str, company: str, endpoint: str, cause: str):
        self.source = source
        self.company = company
        self.endpoint = endpoint
        self.cause = cause
        super().__init__(f"{source} company '{company}', endpoint '{endpoint}': {cause}")

    def __reduce__(self) -> tuple[type[Self], tuple[str, str, str, str]]:
        # raised in a decode worker, re-raised in the caller with every field
        return type(self), (self.source, self.company, self.endpoint, self.cause)


class AuthenticationError(ConnectorError):
    """The API rejected the credentials: retrying will not help until they change."""


class TransientError(ConnectorError):
    """Rate limits, 5xx answers and network faults that survived every retry."""


class BadResponseError(ConnectorError):
    """The API answered, but with something we cannot accept (malformed, wrong type, missing field)."""
