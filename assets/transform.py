"""The dbt project as Dagster assets: every model an asset, every dbt test an asset check.

Only one process may write the build DuckDB file, so the dbt assets and the publish step share
the `duckdb_writer` pool.
"""

import contextlib
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from functools import cache, cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, DbtProject, dbt_assets
from packaging import version

from assets.company_tables import company_rows, company_tables_dir, write_company_tables
from assets.lake import PRIVATE, ensure_dir
from connectors.companies import CompaniesConfig
from connectors.settings import DBT_PROJECT_DIR, Settings, read_secret

WRITER_POOL = "duckdb_writer"


@cache
def dbt_project(target: str = "local") -> DbtProject:
    """The dbt project, its manifest parsed once if missing (or on every load under `dagster dev`)."""
    project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR, target=target)
    if not project.manifest_path.exists() or os.environ.get("DAGSTER_IS_DEV_CLI"):
        parse_manifest(target)
    return project


def parse_manifest(target: str = "local") -> None:
    """`dbt parse` with the dbt beside this Python: a venv need not be activated, and nothing puts it
    on PATH for dagster-dbt's own preparer (which would change this process's environment)."""
    subprocess.run(
        [dbt_executable(), "parse", "--quiet", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir",
         str(DBT_PROJECT_DIR), "--target", target],
        check=True,
    )  # fmt: skip


def dbt_executable() -> str:
    """The dbt installed beside this Python (a venv need not be activated), else the one on PATH."""
    local = Path(sys.executable).with_name("dbt")
    return str(local) if local.exists() else (shutil.which("dbt") or "dbt")


class WarehouseDbt(DbtCliResource):
    """dagster-dbt's CLI resource without two start-up costs it pays on every build and this project never
    uses: `dbt --version` in a subprocess to learn the version (4 s here; the dbt beside this Python is the
    installed dbt-core, so its version is read from the package), and an in-process dbt adapter with every
    macro loaded (2 s), which dagster-dbt needs only to fetch row counts or column metadata (the warehouse
    step counts rows itself, after dbt has released the build file)."""

    @cached_property
    def _cli_version(self) -> version.Version:
        if Path(self.dbt_executable) == Path(sys.executable).with_name("dbt"):
            return version.parse(importlib.metadata.version("dbt-core"))
        return super()._cli_version

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> Any:
        return None


class WarehouseTranslator(DagsterDbtTranslator):
    """Models keyed [schema, name] (e.g. marts/fct_gl_entries), grouped by layer."""

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        node = manifest["nodes"].get(unique_id) or manifest["sources"].get(unique_id)
        if node is None or node["resource_type"] not in ("model", "seed", "snapshot"):
            return spec
        schema = node["config"].get("schema") or node["schema"]
        return spec.replace_attributes(key=dg.AssetKey([schema, node["name"]]), group_name=f"warehouse_{schema}")

    def get_description(self, dbt_resource_props: Mapping[str, Any]) -> str:
        """The model's own description from its yml (dagster-dbt would append the raw SQL to it)."""
        described = (dbt_resource_props.get("description") or "").strip()
        kind, name = dbt_resource_props["resource_type"], dbt_resource_props["name"]
        return described or f"dbt {kind} {name} (no description in its yml)"

    def get_asset_check_spec(
        self, asset_spec: dg.AssetSpec, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> dg.AssetCheckSpec | None:
        """dagster-dbt reads a check's description from the test's meta; ours is the test's own description."""
        check = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        test = manifest["nodes"].get(unique_id, {})
        if check is None or check.description or not test.get("description"):
            return check
        return check._replace(description=test["description"])


LOCKED = "Could not set lock on file"


def build_failure(error: str, build_db: Path) -> dg.Failure:
    """What went wrong with a dbt build that no accounting check explains: the build file held by another
    process (a lock conflict, retried later) or an error in the SQL or the project (read the message)."""
    if LOCKED in error:
        return dg.Failure(
            description=f"The build database {build_db} is locked by another process (a dbt run, the publish "
            "step, or a tool that opened build.duckdb instead of the published copy); nothing was built or "
            "published. Close that process or wait for it, then run the warehouse job again.",
            metadata={"cause": "lock_conflict"},
            allow_retries=True,
        )
    return dg.Failure(
        description="dbt build failed (not an accounting check: an error in a model, a contract or the "
        f"project); the warehouse is not published.\n{error[-3000:]}",
        metadata={"cause": "dbt_error"},
    )


def table_row_counts(build_db: Path) -> dict[str, int]:
    """Rows of every table in the build file, by `schema.table` (views are not counted: that runs them)."""
    import duckdb

    if not build_db.exists():
        return {}
    try:
        con = duckdb.connect(str(build_db), read_only=True)
    except duckdb.Error:
        return {}
    try:
        tables = con.execute(
            "select schema_name, table_name from duckdb_tables() where database_name = current_database()"
        ).fetchall()
        return {f"{schema}.{name}": con.execute(f'select count(*) from "{schema}"."{name}"').fetchall()[0][0]
                for schema, name in tables}  # fmt: skip
    finally:
        con.close()


def stored_failures(build_db, test_name: str, limit: int = 20) -> list[str]:
    """The failing rows dbt stored for a test (schema dbt_test__audit), as readable lines."""
    import duckdb

    try:
        con = duckdb.connect(str(build_db), read_only=True)
    except duckdb.Error:
        return []
    try:
        columns = [
            r[0]
            for r in con.execute(
                "select column_name from information_schema.columns where table_schema = 'dbt_test__audit' "
                "and table_name = ? order by ordinal_position",
                [test_name],
            ).fetchall()
        ]
        if not columns:
            return []
        rows = con.execute(f'select * from dbt_test__audit."{test_name}" limit {int(limit)}').fetchall()
    finally:
        con.close()
    if "problem" in columns:
        return [str(row[columns.index("problem")]) for row in rows]
    return [", ".join(f"{c}={v}" for c, v in zip(columns, row, strict=True)) for row in rows]


def dbt_vars_argument(settings: Settings) -> str:
    """The --vars argument: `dbt_vars` as compact JSON."""
    return json.dumps(dbt_vars(settings), separators=(",", ":"))


def prepare_dbt_build(config: CompaniesConfig, settings: Settings) -> str:
    """Write the companies' tables a build reads and return its --vars: what every dbt build of a warehouse
    starts from (the warehouse step's, and the bench's and tests' direct ones)."""
    if settings.lake_url:
        missing = [name for name in S3_KEY_PAIR if not read_secret(name)]
        if missing:  # DuckDB would sign nothing and S3 answer 403 for every file
            raise RuntimeError(
                f"the lake is on S3 ({settings.lake_url}) and dbt's DuckDB reads it with a key pair: "
                f"{' and '.join(missing)} not set (an IAM role alone is not enough for DuckDB yet)"
            )
    write_company_tables(company_rows(config), company_tables_dir(settings))
    return dbt_vars_argument(settings)


S3_KEY_PAIR = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")  # what the local_s3 profile's secret reads


def start_parse(settings: Settings) -> subprocess.Popen[bytes]:
    """`dbt parse` in the background with the vars the next build will have, into the warehouse's target
    directory: a runner that extracts first and builds after starts it at once, so the build itself parses
    only partially. Wait for it before the build (both write that directory); if it fails, the build
    parses whole and reports what is wrong."""
    variables = dbt_vars_argument(settings)
    target = dbt_target_path(settings)
    return subprocess.Popen(
        [dbt_executable(), "parse", "--partial-parse", "--quiet", "--vars", variables,
         "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
         "--target", settings.dbt_target, "--target-path", str(target), "--log-path", str(target),
         "--log-format-file", "json", *FILE_LOG],  # like the builds' (dagster-dbt's): one log, one format
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        umask=OWNER_ONLY,
    )  # fmt: skip


# dbt's file log at info: what ran, how long, what failed and why a parse was whole. At debug (dbt's default) it
# also logs every SQL statement and adapter call, which cost a quarter of a demo build's CPU (17.2 s -> 13.4 s);
# the SQL each model ran stays in the target directory's compiled/ and run/.
FILE_LOG = ("--log-level-file", "info")

# dbt's compiled SQL, results and log hold the companies' names and figures: owner-only, like the build file
OWNER_ONLY = 0o077


@contextlib.contextmanager
def owner_only_files() -> Iterator[None]:
    """Start a subprocess inside this block and every file it creates is readable by its owner only."""
    previous = os.umask(OWNER_ONLY)
    try:
        yield
    finally:
        os.umask(previous)


def dbt_target_path(settings: Settings) -> Path:
    """Where the warehouse's dbt builds keep their compiled SQL, results, log and partial parse."""
    return ensure_dir(settings.warehouse_dir / "dbt_target")


def dbt_vars(settings: Settings) -> dict[str, Any]:
    """The --vars a dbt build gets: the lake root, the build file and the companies' tables (pure; tested
    directly). Only paths, the same for every build of a deployment, so dbt's partial parse holds.

    The build file goes as a var, which profiles.yml reads, so nothing changes the process environment.
    """
    paths: dict[str, Any] = {
        "lake_root": settings.lake_location,
        "build_db": str(settings.build_db),
        "config_dir": str(company_tables_dir(settings)),
    }
    return paths | s3_vars(settings) if settings.lake_url else paths


def s3_vars(settings: Settings) -> dict[str, Any]:
    """What the local_s3 profile needs besides the credentials, which dbt reads from the AWS variables."""
    from assets.duckdb_extensions import extension_path

    endpoint = urlparse(settings.s3_endpoint) if settings.s3_endpoint else None
    return {
        "httpfs_extension": str(extension_path("httpfs")),
        "duckdb_extension_dir": str(settings.warehouse_dir / "duckdb_extensions"),
        "s3_region": settings.s3_region or "us-east-1",
        # AWS itself takes virtual-host URLs over TLS; an S3-compatible server usually path-style ones
        "s3_endpoint": endpoint.netloc if endpoint else "s3.amazonaws.com",
        "s3_use_ssl": "false" if endpoint and endpoint.scheme == "http" else "true",
        "s3_url_style": "path" if endpoint else "vhost",
    }


def build_dbt_assets(config: CompaniesConfig, settings: Settings) -> dg.AssetsDefinition:
    project = dbt_project(settings.dbt_target)

    @dbt_assets(
        manifest=project.manifest_path,
        name="warehouse_models",
        dagster_dbt_translator=WarehouseTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True)),
        pool=WRITER_POOL,
        backfill_policy=dg.BackfillPolicy.single_run(),
    )
    def warehouse_models(context: dg.AssetExecutionContext, dbt: DbtCliResource):
        ensure_dir(settings.build_db.parent)
        # Every model is rebuilt whole from the lake; --full-refresh also recreates seeds whose columns changed.
        # One target directory per warehouse, parsed partially: every build of a deployment has the same vars
        # (paths only; the companies are data, company_tables), so it skips most of dbt's parse (5 s).
        args = ["build", "--full-refresh", "--partial-parse", *FILE_LOG, "--vars", prepare_dbt_build(config, settings)]
        with owner_only_files():  # dbt starts here and inherits the mask
            invocation = dbt.cli(args, context=context, raise_on_error=False, target_path=dbt_target_path(settings))
        failed: list[dg.AssetCheckResult] = []
        built: list[dg.Output] = []
        for event in invocation.stream():
            if isinstance(event, dg.AssetCheckResult) and not event.passed:
                failed.append(event)  # reported once dbt has released the database, with the failing rows
            elif isinstance(event, dg.Output):
                built.append(event)  # row counts need the database, which dbt holds until it exits
            else:
                yield event
        if settings.build_db.exists():
            os.chmod(settings.build_db, PRIVATE.file)  # only dbt and the publish step read the build file
        counts = table_row_counts(settings.build_db)
        for output in built:
            table = ".".join(context.asset_key_for_output(output.output_name).path)  # keys are [schema, name]
            count = {"dagster/row_count": counts[table]} if table in counts else {}
            yield output.with_metadata({**output.metadata, **count})
        problems: list[str] = []
        for check in failed:
            rows = stored_failures(settings.build_db, check.check_name or "")
            problems += rows
            yield check._replace(
                metadata={
                    **check.metadata,
                    "problems": dg.MetadataValue.md("\n".join(f"- {r}" for r in rows) or "(no rows stored)"),
                }
            )
        blocking = [c for c in failed if c.severity == dg.AssetCheckSeverity.ERROR]
        if blocking:
            names = ", ".join(c.check_name or "?" for c in blocking)
            raise dg.Failure(
                description=f"Accounting checks failed ({names}); the warehouse is not published.\n"
                + "\n".join(problems[:20]),
                metadata={"failed_checks": names},
            )
        if not invocation.is_successful():
            raise build_failure(str(invocation.get_error() or "dbt build failed"), settings.build_db)

    return warehouse_models
