"""The shared HTTP layer: deadlines, bounded bodies, retries with backoff, Retry-After, concurrency
limits, secret masking.

Every connector sends its requests through `ApiSession.request`, so retry and rate-limit
behaviour is the same for every API and tested once. Each attempt has an overall deadline (connect,
headers and every read of the body; httpx's own timeout only bounds each single operation) and a
cap on the body's size, both per API with overrides in `RetryPolicy`. Each session owns a
`Redactor` its client registers credentials and derived values with (`connectors.redact`).
"""

from __future__ import annotations

import email.utils
import functools
import io
import random
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self, TypeVar, overload

import httpx

from connectors.errors import (
    AuthenticationError,
    ConnectorError,
    MissingRightError,
    ResponseTooLargeError,
    TransientError,
)
from connectors.redact import Redactor

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_RENEWALS = 3
MB = 1024 * 1024
DEFAULT_DEADLINE = 300.0  # seconds for one attempt, connect to last byte
DEFAULT_MAX_BODY_BYTES = 64 * MB

T = TypeVar("T")
E = TypeVar("E", bound=ConnectorError)


@dataclass(frozen=True)
class RetryPolicy:
    """How requests are retried and bounded. `deadline` and `max_body_bytes` left None take the API's
    own defaults (its spec's `default_deadline` and `max_body_bytes`); `timeout` bounds each single
    network operation (connect, one read), `deadline` a whole attempt."""

    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0
    timeout: float = 60.0
    deadline: float | None = None
    max_body_bytes: int | None = None

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds to wait before attempt `attempt + 1`: Retry-After if given, else full-jitter backoff."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_delay)
        return rng.uniform(0, min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (when - datetime.now(UTC)).total_seconds()


class RateLimiter:
    """At most `per_second` request starts per second (a simple spacing limiter, thread-safe)."""

    def __init__(
        self,
        per_second: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.per_second = per_second
        self.interval = 1.0 / per_second
        self._next = 0.0
        self._lock = threading.Lock()
        self._clock, self._sleep = clock, sleep

    def tighten(self, per_second: float) -> None:
        """Lower the rate to `per_second` if that is slower (sessions sharing this limiter may ask for less)."""
        with self._lock:
            if per_second < self.per_second:
                self.per_second, self.interval = per_second, 1.0 / per_second

    def wait(self) -> None:
        with self._lock:
            now = self._clock()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            self._sleep(start - now)


class _DeadlineExceededError(Exception):
    """An attempt ran past its deadline while the body was still arriving."""


class Retry(Exception):  # noqa: N818 - a signal to ask again, not an error
    """Raised by a response classifier: the answer is a transient fault, ask again."""

    def __init__(self, cause: str, retry_after: float | None = None):
        super().__init__(cause)
        self.cause = cause
        self.retry_after = retry_after


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # Loading the CA bundle costs tens of milliseconds; an office with hundreds of companies builds
    # thousands of sessions per run, so they share one context.
    return ssl.create_default_context()


class ApiSession:
    """One company's connection to one API: an httpx client plus retry, bounds and concurrency policy.

    `deadline` and `max_body_bytes` are the API's defaults, used where the RetryPolicy leaves them
    None. A deadline left to the API's default is never shorter than the policy's `timeout` (raising
    the timeout for a slow server must not be undone by a shorter default deadline). `secrets` are
    registered with the session's redactor at once; clients add derived values with `register_secret`.
    """

    def __init__(
        self,
        source: str,
        company: str,
        base_url: str,
        *,
        auth: httpx.Auth | None = None,
        headers: dict[str, str] | None = None,
        max_concurrency: int = 4,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rate_limit: float | None = None,
        limiter: RateLimiter | None = None,
        deadline: float = DEFAULT_DEADLINE,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        secrets: Iterable[str | None] = (),
    ):
        self.source = source
        self.company = company
        self.retry = retry or RetryPolicy()
        self.redactor = Redactor()
        self.redactor.add(*secrets)
        self.deadline = self.retry.deadline if self.retry.deadline is not None else max(deadline, self.retry.timeout)
        self.max_body_bytes = self.retry.max_body_bytes or max_body_bytes
        if self.deadline <= 0 or self.max_body_bytes <= 0:
            raise ValueError(f"{source}: the deadline and the body cap must be positive")
        self._gate = threading.BoundedSemaphore(max_concurrency)
        self._rng = random.Random()
        self._sleep = sleep
        self.requests_sent = 0
        self.retries = 0
        # `limiter`: one shared with other sessions (an API whose limit counts per client, not per company)
        self._limiter = limiter or (RateLimiter(rate_limit, sleep=sleep) if rate_limit else None)
        self._client = httpx.Client(
            base_url=base_url,
            auth=auth,
            headers=headers,
            verify=_tls_context(),
            timeout=min(self.retry.timeout, self.deadline),
            transport=transport,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def register_secret(self, *values: str | None) -> None:
        """Mask these values (credentials, derived headers, tokens) in every error message."""
        self.redactor.add(*values)

    def register_single_use_secret(self, value: str | None) -> None:
        """Mask a value made for one request (a signature); only the latest ones are kept."""
        self.redactor.add_recent(value)

    def error(self, kind: type[E], endpoint: str, cause: str) -> E:
        # the cause is masked in ConnectorError.__init__ (with this session's secrets among others)
        return kind(self.source, self.company, endpoint, cause)

    @overload
    def request(
        self,
        method: str,
        path: str,
        *,
        endpoint: str,
        prepare: Callable[[httpx.Request], None] | None = None,
        classify: Callable[[httpx.Response], T],
        on_unauthorized: Callable[[], bool] | None = None,
        max_body_bytes: int | None = None,
        **kwargs: Any,
    ) -> T: ...

    @overload
    def request(
        self,
        method: str,
        path: str,
        *,
        endpoint: str,
        prepare: Callable[[httpx.Request], None] | None = None,
        classify: None = None,
        on_unauthorized: Callable[[], bool] | None = None,
        max_body_bytes: int | None = None,
        **kwargs: Any,
    ) -> httpx.Response: ...

    def request(
        self,
        method: str,
        path: str,
        *,
        endpoint: str,
        prepare: Callable[[httpx.Request], None] | None = None,
        classify: Callable[[httpx.Response], T] | None = None,
        on_unauthorized: Callable[[], bool] | None = None,
        max_body_bytes: int | None = None,
        **kwargs: Any,
    ) -> T | httpx.Response:
        """Send a request, retrying transient failures; raise a ConnectorError naming the endpoint.

        `prepare(request)` adds per-attempt headers (signatures, the current token) to each attempt.
        `classify(response)` returns the parsed result, raises `Retry` for a transient fault in the
        body, or raises a ConnectorError. `on_unauthorized()` may renew a token and return True to
        try again after a 401 (at most MAX_RENEWALS times per request). `max_body_bytes` overrides
        the session's cap for this endpoint.

        An attempt that overruns the deadline is a transient fault (retried, then `TransientError`).
        A body over the cap is a `ResponseTooLargeError` at once, not retried: the same question
        gets the same answer, and asking again would only download up to the cap again; the remedy
        is a smaller question (Netvisor splits its window) or a higher cap.
        """
        limit = max_body_bytes or self.max_body_bytes
        last_cause = "no attempt made"
        renewals = 0
        for attempt in range(1, self.retry.max_attempts + 1):
            retry_after = None
            try:
                request = self._client.build_request(method, path, **kwargs)
                if prepare is not None:
                    prepare(request)  # outside the gate: preparing may itself send (a token request)
                if self._limiter is not None:
                    self._limiter.wait()  # after preparing, so a wait for a token does not bunch requests
                with self._gate:
                    self.requests_sent += 1
                    response = self._send(request, endpoint, limit)
            except _DeadlineExceededError:
                last_cause = f"no complete answer within the {self.deadline:g} s deadline of an attempt"
            except httpx.TimeoutException:
                last_cause = f"timed out after {min(self.retry.timeout, self.deadline):g} s"
            except httpx.TransportError as exc:
                last_cause = f"network error ({type(exc).__name__})"
            else:
                if (
                    response.status_code == 401
                    and on_unauthorized is not None
                    and renewals < MAX_RENEWALS
                    and on_unauthorized()
                ):
                    renewals += 1  # a fresh token, then try again; a token rejected every time is fatal
                    continue
                if response.status_code == 403:
                    raise self.error(
                        MissingRightError,
                        endpoint,
                        "access refused (HTTP 403); check that the API user has the right to this resource "
                        "(and the company's credentials)",
                    )
                if response.status_code == 401:
                    raise self.error(
                        AuthenticationError,
                        endpoint,
                        "authentication failed (HTTP 401); check the company's credentials",
                    )
                if response.status_code not in RETRY_STATUSES:
                    if classify is None:
                        return response
                    try:
                        return classify(response)
                    except Retry as transient:
                        last_cause, retry_after = transient.cause, transient.retry_after
                else:
                    last_cause = f"HTTP {response.status_code}"
                    retry_after = parse_retry_after(response.headers.get("retry-after"))
            if attempt < self.retry.max_attempts:
                self.retries += 1
                self._sleep(self.retry.delay(attempt, retry_after, self._rng))
        raise self.error(
            TransientError, endpoint, f"gave up after {self.retry.max_attempts} attempts; last error: {last_cause}"
        )

    def _send(self, request: httpx.Request, endpoint: str, limit: int) -> httpx.Response:
        """Send one attempt and read its body within the deadline and the size cap.

        The body is streamed: between reads the monotonic deadline is checked, so a server that
        drips bytes cannot hold the attempt (each single read is bounded by the httpx timeout,
        itself at most the deadline). Bodies of answers nobody reads (401, 403, retried statuses)
        are not downloaded at all.
        """
        started = time.monotonic()
        response = self._client.send(request, stream=True)
        try:
            if response.status_code in (401, 403) or response.status_code in RETRY_STATUSES:
                return response  # decided on the status line and headers alone
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise self._too_large(endpoint, limit, f"declared {int(declared):,} bytes")
            body, size = io.BytesIO(), 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > limit:
                    raise self._too_large(endpoint, limit, "more arrived")
                body.write(chunk)
                if time.monotonic() - started > self.deadline:
                    raise _DeadlineExceededError
            # What httpx's own `read()` does: the body, decoded, becomes `response.content`.
            response._content = body.getvalue()
        finally:
            response.close()
        return response

    def _too_large(self, endpoint: str, limit: int, detail: str) -> ResponseTooLargeError:
        return self.error(
            ResponseTooLargeError,
            endpoint,
            f"response body exceeds the limit of {limit / MB:g} MB ({detail}); "
            "raise max_body_bytes (NORDLEDGER_HTTP_MAX_BODY_MB) if the answer is genuine",
        )


class SessionClient:
    """Base of the API clients: owns an ApiSession and closes it as a context manager."""

    session: ApiSession

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
