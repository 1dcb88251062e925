"""The bank consent check's verdict per state: a pass, a warning inside the window, an error once a
consent has expired or was never given, each naming the connection and the renewing command."""

from datetime import UTC, datetime, timedelta

import dagster as dg

from orchestration.consent_check import consent_evaluation
from orchestration.refresh import Consent, consent_state

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


def _consent(connection: str, expires: datetime | None) -> Consent:
    return Consent("acme", connection, expires, consent_state(expires, NOW, warning_days=14))


def test_every_consent_beyond_the_window_passes():
    result = consent_evaluation([_consent("a", NOW + timedelta(days=15))])
    assert result.passed and "every consent (1) holds" in result.description
    assert result.metadata["soonest_expiry"].value == "2026-12-16"


def test_a_consent_inside_the_window_warns_and_names_the_command():
    result = consent_evaluation([_consent("a", NOW + timedelta(days=30)), _consent("b", NOW + timedelta(days=13))])
    assert not result.passed and result.severity == dg.AssetCheckSeverity.WARN
    assert result.description == "b (acme): renew soon"
    table = result.metadata["consents"].value
    assert "| acme | b | 2026-12-14 12:00 UTC | warning | `nordledger bank authorize b` |" in table
    assert "| acme | a | 2026-12-31 12:00 UTC | ok |  |" in table


def test_an_expired_or_missing_consent_is_an_error():
    result = consent_evaluation([_consent("a", NOW - timedelta(minutes=1)), _consent("b", None)])
    assert not result.passed and result.severity == dg.AssetCheckSeverity.ERROR
    assert result.description == "a (acme): expired: bank syncs stopped; b (acme): never given"
    assert result.metadata["needing_attention"].value == 2
