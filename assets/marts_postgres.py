"""Copy the published marts from the DuckDB file into one PostgreSQL schema that BI tools read through a
read-only role, swapping the new tables in atomically."""

from __future__ import annotations

import contextlib
import logging
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from assets.duckdb_extensions import load

PUBLISHED_SCHEMA = "marts"  # the schema of the published DuckDB file (assets/publish.py)
STAGING_SUFFIX = "__incoming"
IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*")
MAX_IDENTIFIER = 63  # PostgreSQL's NAMEDATALEN - 1: longer names are silently truncated
RESERVED = frozenset({"public", "information_schema"})  # and everything pg_*
SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
BUSY = "nordledger_marts_busy"  # the swap's own error text when readers hold the old tables

log = logging.getLogger(__name__)


class PostgresPublishError(RuntimeError):
    """The marts were not published to PostgreSQL; the schema BI reads is as it was. Never holds the password."""


@dataclass(frozen=True)
class PostgresMarts:
    """Where the marts go. `reader_role` is created NOLOGIN if missing and may only read `schema`; the
    deployment grants it to the BI tools' login users (`GRANT nordledger_bi TO some_bi_user`). The user
    publishing owns the schema: it needs CREATE on the database (and CREATEROLE unless the role exists)."""

    host: str
    port: int
    database: str
    user: str
    password: str = field(repr=False)
    schema: str = "marts"
    reader_role: str = "nordledger_bi"
    sslmode: str = "prefer"  # libpq's; verify-full for a server across a network

    def __post_init__(self) -> None:
        # the staging schema's name must fit too
        for name, limit in (("schema", MAX_IDENTIFIER - len(STAGING_SUFFIX)), ("reader_role", MAX_IDENTIFIER)):
            value = getattr(self, name)
            if not (isinstance(value, str) and IDENTIFIER.fullmatch(value) and len(value) <= limit):
                raise ValueError(
                    f"{name} {value!r} is not a plain SQL identifier (lowercase letters, digits and _, starting "
                    f"with a letter, at most {limit} characters)"
                )
            if value in RESERVED or value.startswith("pg_"):
                raise ValueError(f"{name} {value!r} is reserved in PostgreSQL")
        if self.sslmode not in SSLMODES:
            raise ValueError(f"sslmode {self.sslmode!r} is not one of {', '.join(SSLMODES)}")
        if not 0 < self.port < 65536:
            raise ValueError(f"port {self.port} is not a TCP port")


def publish_marts_to_postgres(
    published_db: Path, target: PostgresMarts, *, lock_timeout: float = 5.0, attempts: int = 3
) -> list[tuple[str, int]]:
    """Copy every table of schema `marts` of the published DuckDB file into `target.schema`; (table, rows)
    by name.

    The tables are built in `<schema>__incoming` and committed, then one transaction drops the old schema
    (CASCADE: views of other schemas over it go too), renames the new one into its place and grants the
    reader role USAGE and SELECT. A reader's transaction that has read the old tables holds them: the swap
    waits at most `lock_timeout` seconds for it (BI queries queue behind a waiting swap) and is tried
    `attempts` times. (A REPEATABLE READ snapshot taken before the swap that reads the marts only after it
    finds the new tables empty: PostgreSQL's DDL is not MVCC-safe.) On any failure the old schema is
    untouched and the staging schema is dropped.
    """
    try:
        tables = _publish(published_db, target, lock_timeout, max(attempts, 1))
    except PostgresPublishError:
        raise
    except Exception as error:  # duckdb's, the extension loader's: reworded and raised without the original
        message = _scrub(f"{type(error).__name__}: {error}", target.password)
    else:
        log.info(
            "published %d tables (%d rows) to postgres %s:%s/%s schema %s",
            len(tables), sum(n for _, n in tables), target.host, target.port, target.database, target.schema,
        )  # fmt: skip
        return tables
    raise PostgresPublishError(  # outside `except`: no __context__ carrying the unscrubbed error
        f"publishing the marts to postgres {target.host}:{target.port}/{target.database} failed: {message}"
    )


def _publish(published_db: Path, target: PostgresMarts, lock_timeout: float, attempts: int) -> list[tuple[str, int]]:
    con = duckdb.connect(config={"autoinstall_known_extensions": False})
    try:
        load(con, "postgres_scanner")
        # a temporary (in-memory) secret: the password is a bound parameter, in no SQL text and no DSN
        con.execute(
            "create temporary secret nordledger_marts (type postgres, host ?, port ?, database ?, user ?, password ?)",
            [target.host, target.port, target.database, target.user, target.password],
        )
        con.execute(f"attach {_literal(str(published_db))} as published (read_only)")
        tables = _published_tables(con)
        if not tables:
            raise PostgresPublishError(f"{published_db} has no tables in schema {PUBLISHED_SCHEMA!r}")
        options = f"connect_timeout=10 sslmode={target.sslmode} application_name=nordledger_marts_publish"
        con.execute(f"attach {_literal(options)} as pg (type postgres, secret nordledger_marts)")
        staging = target.schema + STAGING_SUFFIX
        try:
            counts = _fill(con, staging, tables)
            _swap(con, target, staging, lock_timeout, attempts)
        except BaseException:
            _drop_staging(con, staging)
            raise
        return counts
    finally:
        con.close()


def _published_tables(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[str, str]]]:
    """Table -> its (column, DuckDB type), in column order."""
    tables: dict[str, list[tuple[str, str]]] = {}
    for table, column, data_type in con.execute(
        "select table_name, column_name, data_type from duckdb_columns() where database_name = 'published' "
        "and schema_name = ? order by table_name, column_index",
        [PUBLISHED_SCHEMA],
    ).fetchall():
        tables.setdefault(table, []).append((column, data_type))
    return tables


def _as_postgres(column: str, data_type: str) -> str:
    """The column in a type DuckDB's postgres writer keeps exactly. DECIMAL(p,s) becomes numeric(p,s), DATE
    date, VARCHAR varchar by themselves. HUGEINT (what dbt's sums of integers give) would become double
    precision: numeric(38,0) instead (a value beyond 38 digits fails the publish). The writer refuses ENUMs
    and unnamed STRUCT/MAP/UNION types (fct_gl_entries.dimensions): varchar and json instead."""
    name = _quote(column)
    if data_type in ("HUGEINT", "UHUGEINT"):
        return f"cast({name} as decimal(38, 0))"
    if data_type.startswith("ENUM("):
        return f"cast({name} as varchar)"
    if any(kind in data_type for kind in ("STRUCT(", "MAP(", "UNION(", "ENUM(", "HUGEINT")):
        return f"to_json({name})"
    return name


def _fill(
    con: duckdb.DuckDBPyConnection, staging: str, tables: dict[str, list[tuple[str, str]]]
) -> list[tuple[str, int]]:
    """The new tables in the staging schema, in one transaction (a killed publish leaves nothing)."""
    counts = []
    con.execute("begin")
    con.execute(f"drop schema if exists pg.{_quote(staging)} cascade")  # what an older publish may have left
    con.execute(f"create schema pg.{_quote(staging)}")
    for table, columns in tables.items():
        select = ", ".join(f"{_as_postgres(c, t)} as {_quote(c)}" for c, t in columns)
        row = con.execute(
            f"create table pg.{_quote(staging)}.{_quote(table)} as "
            f"select {select} from published.{PUBLISHED_SCHEMA}.{_quote(table)}"
        ).fetchone()
        counts.append((table, int(row[0]) if row else 0))
    con.execute("commit")
    return counts


def _swap(
    con: duckdb.DuckDBPyConnection, target: PostgresMarts, staging: str, lock_timeout: float, attempts: int
) -> None:
    """One PostgreSQL transaction (postgres_execute runs in the DuckDB transaction's): the old schema out,
    the new one in, the reader's grants. Readers see the old tables or the new ones, never neither."""
    schema, role = _quote(target.schema), _quote(target.reader_role)
    script = f"""
        SET LOCAL lock_timeout = '{max(int(lock_timeout * 1000), 1)}ms';
        DO $swap$
        BEGIN
            DROP SCHEMA IF EXISTS {schema} CASCADE;
            ALTER SCHEMA {_quote(staging)} RENAME TO {schema};
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{target.reader_role}') THEN
                CREATE ROLE {role} NOLOGIN;
            END IF;
            GRANT USAGE ON SCHEMA {schema} TO {role};
            GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {role};
            REVOKE CREATE ON SCHEMA {schema} FROM PUBLIC;
        EXCEPTION WHEN lock_not_available OR deadlock_detected THEN
            RAISE EXCEPTION '{BUSY}: readers hold the tables of schema {target.schema} (%)', SQLERRM;
        END
        $swap$;
    """
    for attempt in range(1, attempts + 1):
        try:
            con.execute("begin")
            con.execute("call postgres_execute('pg', ?)", [script])
            con.execute("commit")
            return
        except duckdb.Error as error:
            _rollback(con)
            if BUSY not in str(error) or attempt == attempts:
                raise
        log.info("schema %s is in use by readers; swap attempt %d of %d failed", target.schema, attempt, attempts)
        time.sleep(attempt)


def _drop_staging(con: duckdb.DuckDBPyConnection, staging: str) -> None:
    _rollback(con)
    try:
        con.execute("call postgres_execute('pg', ?)", [f"DROP SCHEMA IF EXISTS {_quote(staging)} CASCADE"])
    except duckdb.Error:  # postgres gone: the next publish drops it
        log.warning("could not drop the staging schema %s", staging)


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    with contextlib.suppress(duckdb.Error):  # when no transaction is open
        con.execute("rollback")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    """A DuckDB string literal (ATTACH takes no parameters)."""
    return "'" + text.replace("'", "''") + "'"


def _scrub(text: str, password: str) -> str:
    """`text` without the password, as given or as libpq escapes it in a connection string."""
    if not password:
        return text
    for form in (password, password.replace("\\", "\\\\").replace("'", "\\'")):
        text = text.replace(form, "[password]")
    return text
