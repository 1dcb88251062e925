"""Publish the marts into the read-only DuckDB file BI tools open, replacing it atomically.

The new file is built beside the old one and renamed over it: a BI reader holding the old file
open keeps a consistent view of it and sees the new data when it reconnects.
"""

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb

from assets.lake import ACCEPT_TAG, PRIVATE, Modes, accepted_keys, drastic, ensure_dir, is_accepted, sweep_stale
from assets.resources import Lake, Warehouse
from assets.transform import WRITER_POOL
from connectors.settings import MARTS_PG_PASSWORD, read_secret

PUBLISHED_SCHEMA = "marts"


def sql_literal(text: str) -> str:
    """A path as a DuckDB string literal (ATTACH takes no parameters)."""
    return "'" + text.replace("'", "''") + "'"


def publish_marts(build_db: Path, published_db: Path, modes: Modes = PRIVATE) -> list[tuple[str, int]]:
    """Copy every table of schema `marts` from the build file into a fresh published file."""
    ensure_dir(published_db.parent, modes)
    os.chmod(published_db.parent, modes.directory)  # BI's group must reach the file when group-read is on
    prefix = f".{published_db.name}.tmp-"
    sweep_stale(published_db.parent, prefix)  # a killed publish's file and WAL; never a live one's
    tmp = published_db.with_name(f"{prefix}{os.getpid()}-{uuid.uuid4().hex}")
    tables: list[tuple[str, int]] = []
    try:
        con = duckdb.connect(str(tmp))
        try:
            con.execute("attach " + sql_literal(str(build_db)) + " as build (read_only)")
            names = [
                r[0]
                for r in con.execute(
                    "select table_name from information_schema.tables where table_catalog = 'build' "
                    f"and table_schema = '{PUBLISHED_SCHEMA}' order by table_name"
                ).fetchall()
            ]
            if not names:
                raise RuntimeError(f"{build_db} has no tables in schema {PUBLISHED_SCHEMA!r}; run dbt first")
            con.execute(f"create schema {PUBLISHED_SCHEMA}")
            for name in names:
                con.execute(
                    f'create table {PUBLISHED_SCHEMA}."{name}" as select * from build.{PUBLISHED_SCHEMA}."{name}"'
                )
                count = con.execute(f'select count(*) from {PUBLISHED_SCHEMA}."{name}"').fetchall()[0][0]
                tables.append((name, count))
            con.execute("detach build")
            con.execute("checkpoint")
        finally:
            con.close()
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, modes.file)
        os.replace(tmp, published_db)
    finally:
        Path(str(tmp) + ".wal").unlink(missing_ok=True)
        tmp.unlink(missing_ok=True)
    return tables


def latest_statements_markdown(published_db: Path) -> str:
    """Each company's latest month: P&L year to date and the balance sheet's main lines."""
    con = duckdb.connect(str(published_db), read_only=True)
    try:
        rows = con.execute("""
            with latest as (
                select company_id, max(month_end) as month_end from marts.rpt_balance_sheet
                where month_end <= (select max(entry_date) from marts.fct_gl_entries as g
                                    where g.company_id = rpt_balance_sheet.company_id) + interval 1 month
                group by company_id
            ),
            pl as (
                select p.company_id, p.fiscal_year, p.month_end,
                       max(amount_ytd) filter (where report_line_code = 'PL_REVENUE') as revenue,
                       max(amount_ytd) filter (where report_line_code = 'PL_OPERATING_RESULT') as operating,
                       max(amount_ytd) filter (where report_line_code = 'PL_NET_RESULT') as net
                from marts.rpt_profit_and_loss as p join latest using (company_id, month_end) group by all
            ),
            bs as (
                select b.company_id,
                       max(amount) filter (where report_line_code = 'BS_ASSETS_TOTAL') as assets,
                       max(amount) filter (where report_line_code = 'BS_EQUITY_TOTAL') as equity,
                       max(amount) filter (where report_line_code = 'BS_EQUITY_AND_LIABILITIES_TOTAL') as total
                from marts.rpt_balance_sheet as b join latest using (company_id, month_end) group by all
            )
            select company_id, fiscal_year, strftime(month_end, '%Y-%m-%d'), revenue, operating, net, assets, equity, total
            from pl join bs using (company_id) order by 1
        """).fetchall()
    finally:
        con.close()
    lines = [
        "| company | fiscal year | month end | revenue YTD | operating result YTD | net result YTD "
        "| total assets | equity | equity and liabilities |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    lines += ["| " + " | ".join([c, str(fy), d] + [f"{v:,.2f}" for v in values]) + " |" for c, fy, d, *values in rows]
    return "\n".join(lines)


def build_publish_asset(mart_keys: list[dg.AssetKey]) -> dg.AssetsDefinition:
    @dg.asset(
        key=dg.AssetKey(["published", "warehouse"]),
        group_name="publish",
        deps=mart_keys,
        pool=WRITER_POOL,
        kinds={"duckdb"},
        description="Read-only copy of the marts for BI tools, swapped in atomically.",
    )
    def published_warehouse(
        context: dg.AssetExecutionContext, warehouse: Warehouse, lake: Lake
    ) -> dg.MaterializeResult:
        target = Path(warehouse.published_db)
        # the same rule as the gl_volume_guard check, here too: publishing this asset alone skips the check
        accepted = accepted_keys(context.run.tags.get(ACCEPT_TAG))
        refused = [d for d in gl_drops(target, Path(warehouse.build_db), accepted, lake.max_shrink) if not d.accepted]
        if refused:
            raise dg.Failure(
                description="Not published: " + "; ".join(d.message for d in refused) + f". If the change is "
                f"real, run again with the tag {ACCEPT_TAG}=<company> (or =*).",
                metadata={"refused_companies": ", ".join(d.company for d in refused)},
            )
        tables = publish_marts(Path(warehouse.build_db), target, warehouse.modes)
        context.log.info(f"published {len(tables)} tables to {target}")
        postgres = publish_to_postgres(warehouse, target)
        if postgres:
            context.log.info(f"published {len(tables)} tables to {postgres}")
        return dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(str(target)),
                **({"postgres": dg.MetadataValue.text(postgres)} if postgres else {}),
                "tables": dg.MetadataValue.md(
                    "\n".join(["| table | rows |", "|---|---:|"] + [f"| marts.{n} | {c} |" for n, c in tables])
                ),
                "latest_statements": dg.MetadataValue.md(latest_statements_markdown(target)),
            }
        )

    return published_warehouse


def publish_to_postgres(warehouse: Warehouse, published_db: Path) -> str | None:
    """Copy the published file's marts into the PostgreSQL schema BI reads, when one is configured; where
    they went (None: nowhere). The DuckDB file is already published: a failure here leaves PostgreSQL's
    schema as it was, and fails the step so that the stale copy is seen."""
    if not warehouse.postgres_host:
        return None
    from assets.marts_postgres import PostgresMarts, PostgresPublishError, publish_marts_to_postgres

    password = read_secret(MARTS_PG_PASSWORD)
    if not password:
        raise dg.Failure(
            f"the marts' PostgreSQL copy needs its password: environment variable {MARTS_PG_PASSWORD} is not set"
        )
    pg = PostgresMarts(
        host=warehouse.postgres_host,
        port=warehouse.postgres_port,
        database=warehouse.postgres_database,
        user=warehouse.postgres_user,
        password=password,
        schema=warehouse.postgres_schema,
        reader_role=warehouse.postgres_reader_role,
        sslmode=warehouse.postgres_sslmode,
    )
    try:
        publish_marts_to_postgres(published_db, pg)
    except PostgresPublishError as exc:
        raise dg.Failure(
            f"{exc}. The DuckDB file {published_db} is published; PostgreSQL still has the previous marts."
        ) from None
    return f"postgres {pg.host}:{pg.port}/{pg.database} schema {pg.schema} (read by role {pg.reader_role})"


GL_TABLE = "marts.fct_gl_entries"


def gl_rows_by_company(db: Path) -> dict[str, int]:
    """Rows of the general ledger per company in a warehouse file (empty when there is no file yet)."""
    if not db.exists():
        return {}
    con = duckdb.connect(str(db), read_only=True)
    try:
        return dict(con.execute(f"select company_id, count(*) from {GL_TABLE} group by all").fetchall())
    except duckdb.CatalogException:
        return {}
    finally:
        con.close()


@dataclass(frozen=True)
class GlDrop:
    company: str
    published: int
    built: int
    accepted: bool

    @property
    def message(self) -> str:
        return f"company '{self.company}': the published general ledger has {self.published} rows, the new build {self.built}"


def gl_drops(published_db: Path, build_db: Path, accepted: frozenset[str], max_shrink: float) -> list[GlDrop]:
    """Companies whose general ledger vanishes or shrinks drastically from the published copy to the build."""
    published, built = gl_rows_by_company(published_db), gl_rows_by_company(build_db)
    return [
        GlDrop(company, before, built.get(company, 0), is_accepted(accepted, company, None))
        for company, before in sorted(published.items())
        if drastic(before, built.get(company, 0), max_shrink)
    ]


def build_volume_check(gl_key: dg.AssetKey) -> dg.AssetChecksDefinition:
    """The warehouse's volume guard: a blocking check between the dbt build and the publish."""

    @dg.asset_check(
        asset=gl_key,
        name="gl_volume_guard",
        blocking=True,
        pool=WRITER_POOL,
        description="No company's general ledger vanishes or shrinks by more than half against the published "
        f"warehouse unless the run accepts it (tag {ACCEPT_TAG}); a failure keeps the published copy as it is.",
    )
    def gl_volume_guard(
        context: dg.AssetCheckExecutionContext, warehouse: Warehouse, lake: Lake
    ) -> dg.AssetCheckResult:
        accepted = accepted_keys(context.run.tags.get(ACCEPT_TAG))
        drops = gl_drops(Path(warehouse.published_db), Path(warehouse.build_db), accepted, lake.max_shrink)
        rows = [
            f"| {d.company} | {d.published} | {d.built} | {'accepted' if d.accepted else 'refused'} |" for d in drops
        ]
        refused = [d.message for d in drops if not d.accepted]
        table = "\n".join(["| company | published rows | built rows | decision |", "|---|---:|---:|---|", *rows])
        return dg.AssetCheckResult(
            passed=not refused,
            severity=dg.AssetCheckSeverity.ERROR,
            description=(
                "; ".join(refused) + f". Publishing is stopped; if the change is real, run the warehouse job "
                f"again with the tag {ACCEPT_TAG}=<company> (or =*)."
            )
            if refused
            else None,
            metadata={"companies": dg.MetadataValue.md(table), "drops": len(drops)},
        )

    return gl_volume_guard
