"""The dbt project as Dagster assets: every model an asset, every dbt test an asset check.

Only one process may write the build DuckDB file, so the dbt assets and the publish step share
the `duckdb_writer` pool.
"""


import json
import os
import shutil
import sys
from pathlib import Path
from collections.abc import Mapping
from functools import cache
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, DbtProject, dbt_assets

from orchestration.companies import CompaniesConfig
from orchestration.settings import DBT_PROJECT_DIR, Settings

WRITER_POOL = "duckdb_writer"


@cache
def dbt_project(target: str = "local") -> DbtProject:
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


def dbt_vars(config: CompaniesConfig, settings: Settings) -> dict[str, Any]:
    """The --vars a dbt build gets: the lake root and the companies (pure; tested directly)."""
    return {
        "lake_root": str(settings.lake_root),
        "companies": [
            {"id": c.id, "name": c.name, "business_id": c.business_id, "erp": c.erp,
             "report_schema": c.report_schema, "chart_template": c.chart_template}
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
        args = ["build", "--vars", json.dumps(dbt_vars(config, settings))]
        yield from dbt.cli(args, context=context).stream()

    return warehouse_models
