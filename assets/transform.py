"""The dbt project as Dagster assets: every model an asset, every dbt test an asset check.

Only one process may write the build DuckDB file, so the dbt assets and the publish step share
the `duckdb_writer` pool.
"""

import json
import os
import shutil
import sys
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, DbtProject, dbt_assets

from orchestration.companies import CompaniesConfig
from orchestration.settings import DBT_PROJECT_DIR, Settings

WRITER_POOL = "duckdb_writer"


@cache
def dbt_project(target: str = "local") -> DbtProject:
    # dagster-dbt's preparer runs `dbt` from PATH; a venv used without activation has it beside Python.
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR, target=target)
    project.prepare_if_dev()
    if not project.manifest_path.exists():
        # First load on a fresh clone (outside `dagster dev`): parse once, then reuse the manifest.
        project.preparer.prepare(project)
    return project


def dbt_executable() -> str:
    """The dbt installed beside this Python (a venv need not be activated), else the one on PATH."""
    local = Path(sys.executable).with_name("dbt")
    return str(local) if local.exists() else (shutil.which("dbt") or "dbt")


class WarehouseTranslator(DagsterDbtTranslator):
    """Models keyed [schema, name] (e.g. marts/fct_gl_entries), grouped by layer."""

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        node = manifest["nodes"].get(unique_id) or manifest["sources"].get(unique_id)
        if node is None or node["resource_type"] not in ("model", "seed", "snapshot"):
            return spec
        schema = node["config"].get("schema") or node["schema"]
        return spec.replace_attributes(key=dg.AssetKey([schema, node["name"]]), group_name=f"warehouse_{schema}")


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
    return [", ".join(f"{c}={v}" for c, v in zip(columns, row)) for row in rows]


def dbt_vars(config: CompaniesConfig, settings: Settings) -> dict[str, Any]:
    """The --vars a dbt build gets: the lake root and the companies (pure; tested directly)."""
    return {
        "lake_root": str(settings.lake_root),
        "companies": [
            {
                "id": c.id,
                "name": c.name,
                "business_id": c.business_id,
                "erp": c.erp,
                "report_schema": c.report_schema,
                "chart_template": c.chart_template,
                "bank_connections": [
                    {"id": b.id, "gl_cash_account": b.gl_cash_account, "account_gl_map": dict(b.account_gl_map)}
                    for b in c.bank_connections
                ],
            }
            for c in config.companies
        ],
    }


def build_dbt_assets(config: CompaniesConfig, settings: Settings) -> dg.AssetsDefinition:
    project = dbt_project(settings.dbt_target)

    @dbt_assets(
        manifest=project.manifest_path,
        project=project,
        name="warehouse_models",
        dagster_dbt_translator=WarehouseTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True)),
        pool=WRITER_POOL,
        backfill_policy=dg.BackfillPolicy.single_run(),
    )
    def warehouse_models(context: dg.AssetExecutionContext, dbt: DbtCliResource):
        settings.build_db.parent.mkdir(parents=True, exist_ok=True)
        os.environ.update(settings.dbt_env())  # the dbt subprocess inherits this environment
        # Every model is rebuilt whole from the lake; --full-refresh also recreates seeds whose columns changed.
        args = ["build", "--full-refresh", "--vars", json.dumps(dbt_vars(config, settings))]
        invocation = dbt.cli(args, context=context, raise_on_error=False)
        failed: list[dg.AssetCheckResult] = []
        for event in invocation.stream():
            if isinstance(event, dg.AssetCheckResult) and not event.passed:
                failed.append(event)  # reported once dbt has released the database, with the failing rows
                continue
            yield event
        problems: list[str] = []
        for check in failed:
            rows = stored_failures(settings.build_db, check.check_name)
            problems += rows
            yield check._replace(
                metadata={
                    **check.metadata,
                    "problems": dg.MetadataValue.md("\n".join(f"- {r}" for r in rows) or "(no rows stored)"),
                }
            )
        blocking = [c for c in failed if c.severity == dg.AssetCheckSeverity.ERROR]
        if blocking or not invocation.is_successful():
            names = ", ".join(c.check_name for c in blocking) or "dbt build"
            raise dg.Failure(
                description=f"Accounting checks failed ({names}); the warehouse is not published.\n"
                + "\n".join(problems[:20]),
                metadata={"failed_checks": names},
            )

    return warehouse_models
