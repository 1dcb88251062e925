"""The demo pipeline on Postgres + Celery workers + an S3 lake builds exactly the marts the embedded default
builds, and publishes them to a PostgreSQL schema too."""

from __future__ import annotations

import os
from decimal import Decimal

import dagster as dg
import duckdb
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from assets.lake_store import lake_store
from assets.object_lake import ObjectLake


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


def test_the_s3_lake_holds_the_folder_lakes_partitions_row_for_row(embedded, scaled):
    objects = lake_store(scaled["settings"])
    assert isinstance(objects, ObjectLake) and objects.url == f"s3://{scaled['s3'].bucket}/lake"
    assert not scaled["settings"].lake_root.exists()  # nothing of the lake went to the local folder
    root = embedded["settings"].lake_root
    local = sorted(str(p.relative_to(root)) for p in (root / "raw").rglob("*.parquet"))
    base = objects.base + "/"
    keys = sorted(
        i.path[len(base) :] for i in objects.fs.get_file_info(pafs.FileSelector(base + "raw", recursive=True))
        if i.type == pafs.FileType.File
    )  # fmt: skip
    assert local == keys and len(keys) > 50
    for key in keys:
        ours = pq.read_table(root / key)
        theirs = pq.read_table(objects.fs.open_input_file(base + key))
        assert ours.equals(theirs), key


def test_the_s3_and_postgres_secrets_reach_no_file_log_or_event(scaled):
    """dbt's logs and target, the warehouse files, the Celery workers' logs, the Postgres event log: none
    holds the S3 secret key or the Postgres password (the instance's and the marts' copy's)."""
    needles = [scaled["s3"].secret_key, scaled["pg"].password]
    looked = [p for p in scaled["logs"].rglob("*") if p.is_file()]
    assert len(looked) > 20 and any(p.suffix == ".log" for p in looked)
    for needle in needles:
        assert [str(p) for p in looked if needle.encode() in p.read_bytes()] == []
    instance = scaled["instance"]
    events = "\n".join(str(e) for r in scaled["results"] for e in instance.all_logs(r.run_id))
    assert len(events) > 100_000 and not any(needle in events for needle in needles)


def canonical(rows: list[tuple]) -> list[tuple]:
    """Rows sorted, with integers as Decimal (DuckDB's HUGEINT arrives as PostgreSQL numeric)."""
    as_decimal = [tuple(Decimal(v) if type(v) is int else v for v in row) for row in rows]
    return sorted(as_decimal, key=repr)


def test_the_marts_in_postgres_equal_the_embedded_runs_row_for_row(embedded, scaled):
    import psycopg2

    pg = scaled["pg"]
    ours = marts(embedded["settings"].published_db)
    con = psycopg2.connect(host=pg.host, port=pg.port, user=pg.user, password=pg.password, dbname="marts")
    try:
        with con.cursor() as cur:
            cur.execute(
                "select table_name, column_name, data_type from information_schema.columns "
                "where table_schema = 'marts' order by table_name, ordinal_position"
            )
            columns: dict[str, list[tuple[str, str]]] = {}
            for table, column, data_type in cur.fetchall():
                columns.setdefault(table, []).append((column, data_type))
            assert sorted(columns) == sorted(ours)
            with duckdb.connect(str(embedded["settings"].published_db), read_only=True) as duck:
                for table, cols in columns.items():
                    plain = ", ".join(f'"{c}"' for c, t in cols if t != "json")  # nested values go as json
                    theirs = duck.execute(f'select {plain} from marts."{table}"').fetchall()
                    cur.execute(f'select {plain} from marts."{table}"')
                    assert canonical(cur.fetchall()) == canonical(theirs), table
            cur.execute(
                "select has_schema_privilege('nordledger_bi', 'marts', 'USAGE'), "
                "has_table_privilege('nordledger_bi', 'marts.fct_gl_entries', 'SELECT'), "
                "has_table_privilege('nordledger_bi', 'marts.fct_gl_entries', 'INSERT')"
            )
            assert cur.fetchone() == (True, True, False)
    finally:
        con.close()
    assert "postgres 127.0.0.1" in str(
        scaled["instance"]
        .get_latest_materialization_event(dg.AssetKey(["published", "warehouse"]))
        .asset_materialization.metadata["postgres"]
    )
