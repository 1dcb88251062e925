"""The two op jobs: the notice job every alert runs (its log holds the message) and "sync now".

No `from __future__ import annotations` here: Dagster resolves an op's config class from its annotation.
"""

from datetime import UTC, datetime

import dagster as dg

SYNC_NOW_KEY = "nordledger/sync_now_requested"


class NoticeConfig(dg.Config):
    kind: str
    company: str
    message: str


@dg.op
def notify(context: dg.OpExecutionContext, config: NoticeConfig) -> None:
    context.log.warning(f"[{config.kind}] {config.company}: {config.message}")


@dg.job(
    description="Tells a person what needs doing: bank consents about to expire or expired, "
    "rejected or missing credentials. Launched by the sensors; its log holds the message."
)
def notice_job() -> None:
    notify()


def notice_request(kind: str, company: str, message: str, run_key: str) -> dg.RunRequest:
    """A run of the notice job: the alert, visible in the run list and routable by a run-status hook."""
    return dg.RunRequest(
        job_name=notice_job.name,
        run_key=run_key,
        tags={"nordledger/notice": kind, "nordledger/company": company},
        run_config={"ops": {"notify": {"config": {"kind": kind, "company": company, "message": message}}}},
    )


@dg.op
def request_sync(context: dg.OpExecutionContext) -> None:
    stamp = datetime.now(UTC).isoformat()
    context.instance.run_storage.set_cursor_values({SYNC_NOW_KEY: stamp})
    context.log.info("Sync requested: the sync_now sensor launches the runs within a minute.")


@dg.job(description="Sync now: refresh every company's open fiscal years and bank data at once.")
def sync_now_job() -> None:
    request_sync()
