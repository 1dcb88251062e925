"""assets/marts_postgres.py against a real PostgreSQL: the copy is exact, BI's role only reads, a republish
is atomic for readers, a failed one changes nothing, and the password never shows."""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
import threading
import time
import traceback
import uuid
from decimal import Decimal
from pathlib import Path

import duckdb
import psycopg2
import psycopg2.errors
import psycopg2.extensions
import psycopg2.extras
import pytest

from assets.marts_postgres import PostgresMarts, PostgresPublishError, publish_marts_to_postgres
from tests.scale import services

TABLES = ["dim_account", "fct_account_balances_monthly", "fct_gl_entries"]
BIG = Decimal("9999999999999999.99")  # the largest DECIMAL(18,2)


def write_published(path: Path, version: int = 1, bad_second_table: bool = False) -> Path:
    """A published file as assets/publish.py writes it: schema marts, the types the real marts use.
    `version` changes every table's rows; `bad_second_table` puts a NUL byte (which PostgreSQL text
    cannot hold) into the second table by name, so the first is copied before the publish fails."""
    con = duckdb.connect(str(path))
    try:
        con.execute("create schema marts")
        n = 300 + version * 10
        con.execute(
            f"""create table marts.fct_gl_entries as
            select i::integer as entry_id,
                   'acme_oy' as company_id,
                   case when i <= 2 then '000' || i  -- the extremes alone in their monthly balance
                        else lpad(((i * 37) % 50 * 100 + {version})::varchar, 4, '0') end as account_number,
                   date '2024-01-01' + ((i * {version}) % 400)::integer as entry_date,
                   case when i % 11 = 0 then null
                        when i = 1 then {BIG}::decimal(18, 2)
                        when i = 2 then -{BIG}::decimal(18, 2)
                        when i = 3 then 0.01::decimal(18, 2)
                        else (((i * 7919 * {version}) % 2000003 - 1000000) * 0.01)::decimal(18, 2) end as amount,
                   case when i % 5 = 0 then null else 'Tosite ' || i || ' Åäö' end as description,
                   case when i % 3 = 0 then []
                        else [{{'dimension_type': 'kustannuspaikka', 'item_code': '0' || (i % 9),
                                'amount': (i * {version} * 0.25)::decimal(18, 2)}}] end as dimensions
            from range(1, {n}) t(i)"""
        )
        con.execute(
            """create table marts.dim_account as
            select distinct account_number, 'Tili ' || account_number as account_name,
                   account_number < '2000' as is_balance_sheet
            from marts.fct_gl_entries"""
        )
        note = "'a' || chr(0) || 'b'" if bad_second_table else "'ok'"
        con.execute(
            f"""create table marts.fct_account_balances_monthly as
            select account_number, last_day(entry_date) as month_end, sum(amount) as closing_balance,
                   count(*) * 1000000000000000000000 as bs_group, {note} as note
            from marts.fct_gl_entries group by all"""
        )
        # sum(DECIMAL(18,2)) is DECIMAL(38,2) and the product HUGEINT, as dbt's sums give; keep the money type
        con.execute("alter table marts.fct_account_balances_monthly alter closing_balance type decimal(18, 2)")
    finally:
        con.close()
    return path


def duckdb_rows(path: Path, table: str) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(f"select * from marts.{table}").fetchall()
    finally:
        con.close()


def by_value(rows: list[tuple]) -> list[tuple]:
    return sorted(rows, key=lambda row: [str(v) for v in row])


def connect(pg: services.Postgres, database: str, user: str | None = None, password: str | None = None):
    con = psycopg2.connect(
        host=pg.host, port=pg.port, dbname=database, user=user or pg.user, password=password or pg.password
    )
    psycopg2.extras.register_default_json(con, loads=lambda s: json.loads(s, parse_float=Decimal))
    return con


def pg_rows(con, schema: str, table: str) -> list[tuple]:
    with con.cursor() as cur:
        cur.execute(f"select * from {schema}.{table}")
        return cur.fetchall()


def schemas(pg: services.Postgres, database: str) -> set[str]:
    con = connect(pg, database)
    try:
        with con.cursor() as cur:
            cur.execute("select nspname from pg_namespace where nspname like 'marts%'")
            return {r[0] for r in cur.fetchall()}
    finally:
        con.close()


@pytest.fixture
def target(postgres_cluster) -> PostgresMarts:
    """A fresh database and reader role of its own on the session's cluster."""
    suffix = uuid.uuid4().hex[:8]
    database = f"bi_{suffix}"
    con = connect(postgres_cluster, "postgres")
    con.autocommit = True
    with con.cursor() as cur:
        cur.execute(f"create database {database}")
    con.close()
    pg = postgres_cluster
    return PostgresMarts(pg.host, pg.port, database, pg.user, pg.password, reader_role=f"bi_{suffix}")


@pytest.fixture
def bi_user(postgres_cluster, target) -> tuple[str, str]:
    """A login user of a BI tool, granted the reader role (which the first publish creates)."""
    name, password = f"{target.reader_role}_login", secrets.token_urlsafe(12)
    con = connect(postgres_cluster, target.database)
    con.autocommit = True
    with con.cursor() as cur:
        cur.execute(f"create role {name} login password %s", [password])
    con.close()
    return name, password


def grant(pg: services.Postgres, target: PostgresMarts, user: str) -> None:
    con = connect(pg, target.database)
    con.autocommit = True
    with con.cursor() as cur:
        cur.execute(f"grant {target.reader_role} to {user}")
    con.close()


def test_every_table_arrives_row_for_row_with_its_types(postgres_cluster, target, tmp_path):
    published = write_published(tmp_path / "warehouse.duckdb")
    tables = publish_marts_to_postgres(published, target)
    assert [t for t, _ in tables] == TABLES
    con = connect(postgres_cluster, target.database)
    try:
        for table, count in tables:
            source, copied = duckdb_rows(published, table), pg_rows(con, "marts", table)
            assert count == len(source) == len(copied) > 0
            assert by_value(copied) == by_value(source), table
        gl = {row[0]: row for row in pg_rows(con, "marts", "fct_gl_entries")}
        assert gl[1][4] == BIG and gl[2][4] == -BIG and gl[3][4] == Decimal("0.01") and gl[11][4] is None
        assert all(isinstance(row[4], Decimal) for row in gl.values() if row[4] is not None)
        assert isinstance(gl[1][3], dt.date) and gl[5][5] is None
        assert all(isinstance(row[2], str) and len(row[2]) == 4 for row in gl.values())
        assert any(row[2].startswith("0") for row in gl.values())  # account numbers keep their leading zeros
        assert gl[1][6] == [{"dimension_type": "kustannuspaikka", "item_code": "01", "amount": Decimal("0.25")}]
        with con.cursor() as cur:
            cur.execute(
                "select table_name, column_name, data_type, numeric_precision, numeric_scale "
                "from information_schema.columns where table_schema = 'marts'"
            )
            types = {(t, c): rest for t, c, *rest in cur.fetchall()}
    finally:
        con.close()
    varchar = ("character varying", None, None)
    assert types == {
        ("fct_gl_entries", "entry_id"): ["integer", 32, 0],
        ("fct_gl_entries", "company_id"): list(varchar),
        ("fct_gl_entries", "account_number"): list(varchar),
        ("fct_gl_entries", "entry_date"): ["date", None, None],
        ("fct_gl_entries", "amount"): ["numeric", 18, 2],
        ("fct_gl_entries", "description"): list(varchar),
        ("fct_gl_entries", "dimensions"): ["json", None, None],  # a list of structs: PostgreSQL has no such type
        ("dim_account", "account_number"): list(varchar),
        ("dim_account", "account_name"): list(varchar),
        ("dim_account", "is_balance_sheet"): ["boolean", None, None],
        ("fct_account_balances_monthly", "account_number"): list(varchar),
        ("fct_account_balances_monthly", "month_end"): ["date", None, None],
        ("fct_account_balances_monthly", "closing_balance"): ["numeric", 18, 2],
        ("fct_account_balances_monthly", "bs_group"): ["numeric", 38, 0],  # HUGEINT: exact, not double precision
        ("fct_account_balances_monthly", "note"): list(varchar),
    }
    assert schemas(postgres_cluster, target.database) == {"marts"}


def test_the_reader_role_only_reads(postgres_cluster, target, bi_user, tmp_path):
    publish_marts_to_postgres(write_published(tmp_path / "warehouse.duckdb"), target)
    user, password = bi_user
    outsider = connect(postgres_cluster, target.database, user, password)  # not granted the role yet
    with pytest.raises(psycopg2.errors.InsufficientPrivilege), outsider.cursor() as cur:
        cur.execute("select count(*) from marts.dim_account")
    outsider.close()
    grant(postgres_cluster, target, user)
    con = connect(postgres_cluster, target.database, user, password)
    con.autocommit = True
    try:
        for table in TABLES:
            assert pg_rows(con, "marts", table)
        statements = [
            "insert into marts.dim_account (account_number) values ('9999')",
            "update marts.fct_gl_entries set amount = 0",
            "delete from marts.fct_gl_entries",
            "create table marts.mine (i integer)",
            "drop table marts.dim_account",
            "alter schema marts rename to theirs",
        ]
        for statement in statements:
            with pytest.raises(psycopg2.errors.InsufficientPrivilege), con.cursor() as cur:
                cur.execute(statement)
    finally:
        con.close()


def wait_until_the_swap_waits(pg: services.Postgres, database: str, timeout: float = 30) -> None:
    con = connect(pg, database)
    con.autocommit = True
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with con.cursor() as cur:
                cur.execute(
                    "select count(*) from pg_stat_activity where datname = %s "
                    "and application_name = 'nordledger_marts_publish' and wait_event_type = 'Lock'",
                    [database],
                )
                if cur.fetchone()[0]:
                    return
            time.sleep(0.05)
        raise AssertionError("the swap never waited for the reader's locks")
    finally:
        con.close()


def test_a_republish_replaces_the_data_atomically_for_readers(postgres_cluster, target, bi_user, tmp_path):
    old, new = write_published(tmp_path / "old.duckdb", 1), write_published(tmp_path / "new.duckdb", 2)
    publish_marts_to_postgres(old, target)
    user, password = bi_user
    grant(postgres_cluster, target, user)
    reader = connect(postgres_cluster, target.database, user, password)
    reader.set_session(isolation_level=psycopg2.extensions.ISOLATION_LEVEL_REPEATABLE_READ)
    before = {t: by_value(pg_rows(reader, "marts", t)) for t in TABLES}  # the transaction's first read
    assert before == {t: by_value(duckdb_rows(old, t)) for t in TABLES}

    result: dict = {}

    def republish() -> None:
        try:
            result["tables"] = publish_marts_to_postgres(new, target, lock_timeout=60)
        except Exception as error:
            result["error"] = error

    thread = threading.Thread(target=republish)
    thread.start()
    try:
        wait_until_the_swap_waits(postgres_cluster, target.database)
        assert {t: by_value(pg_rows(reader, "marts", t)) for t in TABLES} == before  # still all old rows
    finally:
        reader.commit()
        thread.join(120)
    assert "error" not in result and [t for t, _ in result["tables"]] == TABLES
    after = {t: by_value(pg_rows(reader, "marts", t)) for t in TABLES}  # a new transaction
    reader.close()
    assert after == {t: by_value(duckdb_rows(new, t)) for t in TABLES} != before
    assert schemas(postgres_cluster, target.database) == {"marts"}


def test_a_reader_holding_the_tables_too_long_fails_the_publish_and_keeps_its_view(postgres_cluster, target, tmp_path):
    old, new = write_published(tmp_path / "old.duckdb", 1), write_published(tmp_path / "new.duckdb", 2)
    publish_marts_to_postgres(old, target)
    reader = connect(postgres_cluster, target.database)
    reader.set_session(isolation_level=psycopg2.extensions.ISOLATION_LEVEL_REPEATABLE_READ)
    before = by_value(pg_rows(reader, "marts", "fct_gl_entries"))
    start = time.monotonic()
    with pytest.raises(PostgresPublishError, match="readers hold the tables of schema marts"):
        publish_marts_to_postgres(new, target, lock_timeout=0.2, attempts=2)
    assert time.monotonic() - start < 10
    assert by_value(pg_rows(reader, "marts", "fct_gl_entries")) == before
    reader.commit()
    assert by_value(pg_rows(reader, "marts", "fct_gl_entries")) == by_value(duckdb_rows(old, "fct_gl_entries"))
    reader.close()
    assert schemas(postgres_cluster, target.database) == {"marts"}


def test_a_failure_mid_publish_keeps_the_previous_schema(postgres_cluster, target, tmp_path):
    old = write_published(tmp_path / "old.duckdb", 1)
    publish_marts_to_postgres(old, target)
    bad = write_published(tmp_path / "bad.duckdb", 2, bad_second_table=True)
    with pytest.raises(PostgresPublishError, match="NULL-byte") as failure:
        publish_marts_to_postgres(bad, target)
    assert target.password not in str(failure.value)
    con = connect(postgres_cluster, target.database)
    try:
        for table in TABLES:
            assert by_value(pg_rows(con, "marts", table)) == by_value(duckdb_rows(old, table)), table
    finally:
        con.close()
    assert schemas(postgres_cluster, target.database) == {"marts"}


def test_a_staging_schema_a_killed_publish_left_is_replaced(postgres_cluster, target, tmp_path):
    con = connect(postgres_cluster, target.database)
    con.autocommit = True
    with con.cursor() as cur:
        cur.execute("create schema marts__incoming; create table marts__incoming.stale (i integer)")
    con.close()
    publish_marts_to_postgres(write_published(tmp_path / "warehouse.duckdb"), target)
    con = connect(postgres_cluster, target.database)
    with con.cursor() as cur:
        cur.execute("select table_name from information_schema.tables where table_schema = 'marts' order by 1")
        assert [r[0] for r in cur.fetchall()] == TABLES
    con.close()
    assert schemas(postgres_cluster, target.database) == {"marts"}


def test_a_file_without_marts_is_refused(target, tmp_path):
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    with pytest.raises(PostgresPublishError, match="no tables in schema 'marts'"):
        publish_marts_to_postgres(empty, target)


@pytest.mark.parametrize("server", ["wrong password", "down"])
def test_the_password_never_shows(postgres_cluster, target, tmp_path, caplog, server):
    caplog.set_level(logging.DEBUG)
    password = f"Wr0ng'pw {secrets.token_hex(8)}"
    port = postgres_cluster.port if server == "wrong password" else services.free_port()
    wrong = PostgresMarts(target.host, port, target.database, target.user, password)
    with pytest.raises(PostgresPublishError) as failure:
        publish_marts_to_postgres(write_published(tmp_path / "warehouse.duckdb"), wrong)
    error = failure.value
    expected = "password authentication failed" if server == "wrong password" else "Connection refused"
    assert expected in str(error)
    assert error.__cause__ is None and error.__context__ is None  # no unscrubbed original in a traceback
    shown = [str(error), repr(error), "".join(traceback.format_exception(error)), caplog.text, repr(wrong)]
    distinctive = password.split()[-1]  # also as part of an escaped or truncated form
    assert not [text for text in shown if password in text or distinctive in text]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("schema", "Marts"),
        ("schema", "marts; drop schema public"),
        ("schema", "1marts"),
        ("schema", 'mar"ts'),
        ("schema", "m" * 54),  # its staging schema would pass PostgreSQL's 63
        ("schema", "public"),
        ("schema", "pg_catalog"),
        ("reader_role", "bi-readers"),
        ("reader_role", "public"),
        ("reader_role", ""),
    ],
)
def test_names_that_are_not_plain_identifiers_are_refused(field, value):
    with pytest.raises(ValueError, match=field):
        PostgresMarts("127.0.0.1", 5432, "bi", "nordledger", "pw", **{field: value})
    PostgresMarts("127.0.0.1", 5432, "bi", "nordledger", "pw", **{field: "m" * 53})  # the longest that fits
