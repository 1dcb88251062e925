import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from connectors.errors import AuthenticationError, MissingRightError
from connectors.http import ApiSession, RetryPolicy, parse_retry_after


def test_retry_after_in_seconds_and_as_http_date():
    assert parse_retry_after("7") == 7.0
    future = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 <= parse_retry_after(future) <= 31
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_backoff_is_bounded_and_capped():
    policy = RetryPolicy(base_delay=1, max_delay=5)
    rng = random.Random(1)
    delays = [policy.delay(attempt, None, rng) for attempt in range(1, 10)]
    assert all(0 <= d <= 5 for d in delays)
    assert policy.delay(1, 120, rng) == 5  # Retry-After is honoured up to the cap


@pytest.mark.parametrize(
    ("status", "error", "says"),
    [
        (401, AuthenticationError, "authentication failed (HTTP 401)"),
        (403, MissingRightError, "access refused (HTTP 403)"),
    ],
)
def test_401_is_the_credentials_and_403_a_missing_right(status, error, says):
    transport = httpx.MockTransport(lambda r: httpx.Response(status, text="no"))
    with ApiSession("x", "acme", "http://x.test", transport=transport) as session:
        with pytest.raises(AuthenticationError) as raised:
            session.request("GET", "thing", endpoint="thing")
    assert type(raised.value) is error and says in str(raised.value)
