"""The `bank_consent` asset check on the bank accounts asset: every connection's consent state where a
person looks (the asset's checks, the asset list), evaluated by each bank accounts run and reported
hourly by the `bank_consent_expiry` sensor without a run."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import dagster as dg

from assets.bank import SOURCE
from connectors.companies import CompaniesConfig
from connectors.settings import Settings
from orchestration.refresh import Consent, consents

CHECK_NAME = "bank_consent"
BANK_ACCOUNTS = dg.AssetKey(["raw", SOURCE, "bank_accounts"])
_ATTENTION = {"warning": "renew soon", "expired": "expired: bank syncs stopped", "missing": "never given"}


def _table(found: list[Consent]) -> str:
    rows = [
        f"| {c.company_id} | {c.connection_id} | {c.expires:%Y-%m-%d %H:%M} UTC | {c.state} | "
        f"{'`' + c.command + '`' if c.state != 'ok' else ''} |"
        if c.expires
        else f"| {c.company_id} | {c.connection_id} | - | {c.state} | `{c.command}` |"
        for c in found
    ]
    return "| company | connection | expires | state | to renew |\n|---|---|---|---|---|\n" + "\n".join(rows)


def consent_evaluation(found: list[Consent]) -> dg.AssetCheckEvaluation:
    """Passes when every consent holds beyond the warning window; a consent in the window is a warning,
    an expired or missing one an error. The description names each connection that needs a person."""
    attention = [c for c in found if c.state != "ok"]
    severity = (
        dg.AssetCheckSeverity.ERROR
        if any(c.state in ("expired", "missing") for c in attention)
        else dg.AssetCheckSeverity.WARN
    )
    summary = "; ".join(f"{c.connection_id} ({c.company_id}): {_ATTENTION[c.state]}" for c in attention)
    return dg.AssetCheckEvaluation(
        asset_key=BANK_ACCOUNTS,
        check_name=CHECK_NAME,
        passed=not attention,
        severity=severity,
        description=summary or f"every consent ({len(found)}) holds beyond the warning window",
        metadata={
            "consents": dg.MetadataValue.md(_table(found)),
            "needing_attention": len(attention),
            "soonest_expiry": dg.MetadataValue.text(
                min((f"{c.expires:%Y-%m-%d}" for c in found if c.expires), default="-")
            ),
        },
    )


def build_consent_check(
    settings: Settings, config: CompaniesConfig, clock: Callable[[], datetime] | None = None
) -> dg.AssetChecksDefinition:
    now = clock or (lambda: datetime.now(UTC))

    @dg.asset_check(
        asset=BANK_ACCOUNTS,
        name=CHECK_NAME,
        blocking=False,
        description="Every bank connection's consent holds beyond the warning window "
        f"({config.bank.consent_warning_days} days); warns inside it, fails once a consent has expired or was "
        "never given, naming the connection and the command that renews it.",
    )
    def bank_consent() -> dg.AssetCheckResult:
        evaluation = consent_evaluation(consents(settings, config, now()))
        return dg.AssetCheckResult(
            passed=evaluation.passed,
            severity=evaluation.severity,
            description=evaluation.description,
            metadata=evaluation.metadata,
        )

    return bank_consent
