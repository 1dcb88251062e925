import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from connectors.http import RetryPolicy, parse_retry_after


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
