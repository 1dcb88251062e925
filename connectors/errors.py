"""Exceptions raised by the connectors: each names the source, company, endpoint and cause.

Messages are built only from these parts, never from request headers or bodies. A cause may quote
server text (an error body, a status text), and a server may echo what it was sent, so every cause
passes through `connectors.redact.redact` here, the one place: registered secrets and anything
credential-shaped are masked, and long server text is cut after masking (never through a secret).
"""

from __future__ import annotations

from typing import Self

from connectors.redact import redact

MAX_CAUSE = 1000  # characters of a cause kept (server text can be long)


class ConnectorError(Exception):
    """A request to a source API failed in a way the caller should see."""

    def __init__(self, source: str, company: str, endpoint: str, cause: str):
        self.source = source
        self.company = company
        self.endpoint = endpoint
        cause = redact(cause)
        if len(cause) > MAX_CAUSE:
            cause = cause[: MAX_CAUSE - 1] + "…"
        self.cause = cause
        super().__init__(f"{source} company '{company}', endpoint '{endpoint}': {cause}")

    def __reduce__(self) -> tuple[type[Self], tuple[str, str, str, str]]:
        # raised in a decode worker, re-raised in the caller with every field; `__init__` runs again
        # there, where the session's secrets are registered, and masks them
        return type(self), (self.source, self.company, self.endpoint, self.cause)


class AuthenticationError(ConnectorError):
    """The API rejected the credentials: retrying will not help until they change."""


class MissingRightError(AuthenticationError):
    """The API refused this resource (HTTP 403): the credentials may be fine, a right is missing."""


class TransientError(ConnectorError):
    """Rate limits, 5xx answers and network faults that survived every retry."""


class BadResponseError(ConnectorError):
    """The API answered, but with something we cannot accept (malformed, wrong type, missing field)."""


class ResponseTooLargeError(BadResponseError):
    """The answer's body is larger than the configured cap (`max_body_bytes`): not read further."""
