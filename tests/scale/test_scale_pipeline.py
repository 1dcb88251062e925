"""The demo pipeline on Postgres + Celery workers builds exactly the marts the embedded default builds."""

from __future__ import annotations

import os

import duckdb
import pytest


def test_the_instance_is_the_production_template_on_postgres(scaled):
    instance = scaled["instance"]
    assert type(instance.run_storage).__name__ == "PostgresRunStorage"
    assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
    assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
    limits = instance.get_concurrency_config().run_queue_config.tag_concurrency_limits
    assert {"key": "nordledger/erp", "value": {"applyLimitPerUniqueValue": True}, "limit": 1} in limits
    assert instance.get_concurrency_config().pool_config.default_pool_limit == 1


def test_every_run_succeeded_with_its_steps_in_celery_workers(scaled):
    instance, results = scaled["instance"], scaled["results"]
    assert results and all(r.success for r in results), [r.run_id for r in results if not r.success]
    jobs = scaled["pipeline"].defs
    assert {jobs.resolve_job_def(r.dagster_run.job_name).executor_def.name for r in results} == {"celery"}
    starts = [
        record.event_log_entry
        for r in results
        for record in instance.get_records_for_run(r.run_id).records
        if record.event_log_entry.dagster_event
        and record.event_log_entry.dagster_event.event_type_value == "STEP_START"
    ]
    assert starts and all(entry.dagster_event.pid != os.getpid() for entry in starts)  # none in the launcher
    assert all(w.poll() is None for w in scaled["workers"])  # both workers were up throughout


def marts(path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(path), read_only=True) as con:
        tables = [
            name
            for (name,) in con.execute(
                "select table_name from information_schema.tables where table_schema = 'marts' order by 1"
            ).fetchall()
        ]
        return {t: con.execute(f'select * from marts."{t}" order by all').fetchall() for t in tables}


def test_every_mart_equals_the_embedded_runs_row_for_row(embedded, scaled):
    ours, theirs = marts(embedded["settings"].published_db), marts(scaled["settings"].published_db)
    assert sorted(ours) == sorted(theirs) and len(ours) >= 10
    assert sum(len(rows) for rows in ours.values()) > 10_000
    for table in ours:
        assert ours[table] == theirs[table], table


@pytest.mark.parametrize("kind", ["raw"])
def test_the_lakes_hold_the_same_partitions(embedded, scaled, kind):
    def files(settings):
        root = settings.lake_root / kind
        return sorted(str(p.relative_to(root)) for p in root.rglob("*.parquet"))

    assert files(embedded["settings"]) == files(scaled["settings"]) != []
