"""The definitions load the way the Dagster server loads them."""

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from assets.partitions import fiscal_year_keys
from assets.transform import dbt_vars
from connectors.companies import load_companies
from connectors.settings import load_settings
from tests.conftest import ROOT


def test_dagster_definitions_validate_with_the_workspace_file():
    dagster = Path(sys.executable).with_name("dagster")
    result = subprocess.run(
        [str(dagster), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=ROOT,
        env={**os.environ, "DAGSTER_HOME": ""},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All code locations passed validation" in result.stdout + result.stderr


def test_assets_partitions_and_jobs():
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    ledger = graph.get(dg.AssetKey(["raw", "fennoa", "ledger"]))
    assert isinstance(ledger.partitions_def, dg.MultiPartitionsDefinition)
    assert ledger.backfill_policy == dg.BackfillPolicy.single_run()
    accounts = graph.get(dg.AssetKey(["raw", "fennoa", "accounts"]))
    assert accounts.partitions_def.get_partition_keys() == ["aurora", "borealis", "cirrus"]
    gl = graph.get(dg.AssetKey(["marts", "fct_gl_entries"]))
    assert (
        dg.AssetKey(["raw", "fennoa", "ledger"])
        in graph.get(dg.AssetKey(["staging", "stg_fennoa__ledger"])).parent_keys
    )
    assert gl.pools == {"duckdb_writer"}
    assert {j.name for j in defs.resolve_all_job_defs()} >= {
        "fennoa_reference_job",
        "fennoa_fiscal_year_job",
        "warehouse_job",
    }
    checks = {k.name for k in graph.asset_check_keys}
    assert "assert_vouchers_balance" in checks and "assert_gl_matches_raw_lake" in checks


def test_dbt_vars_carry_only_paths(tmp_path):
    settings = load_settings({"NORDLEDGER_DATA_DIR": str(tmp_path)})
    assert dbt_vars(settings) == {
        "lake_root": str(tmp_path / "lake"),
        "build_db": str(tmp_path / "warehouse" / "build.duckdb"),
        "config_dir": str(tmp_path / "warehouse" / "config"),
    }


def test_the_companies_tables_hold_what_the_warehouse_reads(tmp_path):
    import pyarrow.parquet as pq

    from assets.company_tables import company_rows, write_company_tables

    rows = company_rows(load_companies(ROOT / "companies.yaml"))
    assert [c["id"] for c in rows] == ["aurora", "borealis", "cirrus", "dahlia", "eira"]
    directory = write_company_tables(rows, tmp_path / "config")
    companies = pq.read_table(directory / "companies.parquet").to_pylist()
    assert [(c["company_id"], c["source_system"], c["report_schema"]) for c in companies][:2] == [
        ("aurora", "fennoa", "KPA"),
        ("borealis", "fennoa", "PMA"),
    ]
    connections = pq.read_table(directory / "bank_connections.parquet").to_pylist()
    assert connections and all(set(c) == {"company_id", "connection_id", "gl_cash_account"} for c in connections)
    assert {(c["company_id"], c["connection_id"]) for c in connections} == {
        (c["id"], b["id"]) for c in rows for b in c["bank_connections"]
    }
    assert sorted(p.name for p in directory.iterdir()) == [
        "bank_account_gl_map.parquet",
        "bank_connections.parquet",
        "companies.parquet",
    ]  # no temporary file left
    assert {oct(p.stat().st_mode & 0o777) for p in directory.iterdir()} == {"0o600"}
    empty = write_company_tables([], tmp_path / "empty")
    assert pq.read_schema(empty / "companies.parquet").names[0] == "company_id"
    assert pq.read_metadata(empty / "companies.parquet").num_rows == 0


def test_fiscal_year_keys_run_to_next_year_unless_pinned():
    from datetime import date

    config = load_companies(ROOT / "companies.yaml")
    assert fiscal_year_keys(config, today=date(2026, 11, 22)) == ["2024", "2025", "2026", "2027"]


def test_the_ui_shows_each_marts_description_column_schema_and_what_each_check_proves():
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    marts = [k for k in graph.get_all_asset_keys() if k.path[0] == "marts"]
    assert len(marts) >= 13
    for key in marts:
        node = graph.get(key)
        assert node.description and "Raw SQL" not in node.description and "no description" not in node.description
        schema = node.metadata["dagster/column_schema"]
        assert schema.columns and all(c.type != "?" and c.description for c in schema.columns), key
        for value in node.metadata.values():  # nothing the UI would print as "(unserializable)"
            assert not type(value).__name__.startswith("DbtProject"), key
    specs = [s for a in defs.get_repository_def().assets_defs_by_key.values() for s in a.check_specs]
    assert len(specs) > 20
    assert all(s.description for s in specs), [s.name for s in specs if not s.description]


def test_every_asset_and_check_description_renders_as_written():
    """The UI renders descriptions as Markdown, which drops an HTML-like `<start>` outside a code span
    (`get/ledger/<start>/<end>` showed as "get/ledger//")."""
    import re

    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    texts = {key.to_user_string(): graph.get(key).description or "" for key in graph.get_all_asset_keys()}
    for a in defs.get_repository_def().assets_defs_by_key.values():
        texts.update({f"check {s.name}": s.description or "" for s in a.check_specs})
    outside_code = {name: re.sub(r"`[^`]*`", "", text) for name, text in texts.items()}
    tags = {name: re.findall(r"<[A-Za-z/][^>]*>", text) for name, text in outside_code.items()}
    assert len(texts) > 50
    assert {name: found for name, found in tags.items() if found} == {}


def test_every_singular_accounting_test_is_an_asset_check():
    from orchestration.definitions import defs

    singular = {p.stem for p in (ROOT / "dbt_project" / "tests").glob("*.sql")}
    checks = {k.name for k in defs.resolve_asset_graph().asset_check_keys}
    assert len(singular) > 10
    # a test reading several models needs `meta: dagster: ref` to say which asset it checks
    assert singular <= checks, sorted(singular - checks)


def test_each_raw_group_shares_one_partitions_definition_so_a_group_selection_runs():
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    by_group: dict[str, set] = {}
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if key.path[0] == "raw":
            by_group.setdefault(node.group_name, set()).add(node.partitions_def)
    assert {"raw_netvisor_reference", "raw_netvisor_fiscal_year", "raw_bank_reference"} <= set(by_group)
    assert all(len(defs_) == 1 for defs_ in by_group.values()), by_group


def test_a_partitioned_job_launched_without_partitions_says_what_to_use(tmp_path):
    from orchestration.definitions import build_definitions

    defs = build_definitions(load_settings({"NORDLEDGER_DATA_DIR": str(tmp_path)}))
    with dg.DagsterInstance.ephemeral() as instance:
        result = defs.resolve_job_def("fennoa_fiscal_year_job").execute_in_process(
            instance=instance, raise_on_error=False
        )
    messages = [e.event_specific_data.error.message for e in result.all_events if e.is_step_failure]
    assert messages and all("this run names no partition" in m and "nordledger sync COMPANY" in m for m in messages)


def test_runs_execute_in_process_unless_the_setting_asks_for_a_process_per_step(tmp_path):
    from orchestration.definitions import build_definitions

    env = {"NORDLEDGER_DATA_DIR": str(tmp_path)}
    executors = {j.executor_def.name for j in build_definitions(load_settings(env)).resolve_all_job_defs()}
    assert executors == {"in_process"}
    many = build_definitions(load_settings({**env, "NORDLEDGER_EXECUTOR": "multiprocess"}))
    assert {j.executor_def.name for j in many.resolve_all_job_defs()} == {"multiprocess"}
    with pytest.raises(ValueError, match="NORDLEDGER_EXECUTOR must be one of in_process, multiprocess, celery, k8s"):
        load_settings({**env, "NORDLEDGER_EXECUTOR": "dask"})


@pytest.mark.parametrize(
    ("env", "error"),
    [
        ({"NORDLEDGER_LAKE_URL": "s3://nordledger//lake"}, "NORDLEDGER_LAKE_URL must be s3://bucket"),
        ({"NORDLEDGER_LAKE_URL": "s3://nordledger/lake*"}, "NORDLEDGER_LAKE_URL must be s3://bucket"),
        ({"NORDLEDGER_LAKE_URL": "gs://nordledger/lake"}, "NORDLEDGER_LAKE_URL must be s3://bucket"),
        ({"NORDLEDGER_LAKE_URL": "s3://nordledger", "NORDLEDGER_DBT_TARGET": "local"}, "use local_s3"),
        ({"AWS_ENDPOINT_URL": "localhost:9000"}, r"AWS_ENDPOINT_URL must be http\(s\)://host\[:port\]"),
        ({"AWS_ENDPOINT_URL": "http://minio:9000/bucket"}, r"AWS_ENDPOINT_URL must be http\(s\)://host\[:port\]"),
        ({"NORDLEDGER_MARTS_PG_PASSWORD": "x"}, "NORDLEDGER_MARTS_PG_PASSWORD set but NORDLEDGER_MARTS_PG_HOST is not"),
        ({"NORDLEDGER_MARTS_PG_HOST": "db", "NORDLEDGER_MARTS_PG_PORT": "0"}, "NORDLEDGER_MARTS_PG_PORT must be"),
        ({"NORDLEDGER_MARTS_PG_HOST": "db", "NORDLEDGER_MARTS_PG_SCHEMA": "Marts"}, "NORDLEDGER_MARTS_PG_SCHEMA must"),
        ({"NORDLEDGER_MARTS_PG_HOST": "db", "NORDLEDGER_MARTS_PG_READER": "pg_bi"}, "NORDLEDGER_MARTS_PG_READER must"),
        ({"NORDLEDGER_MARTS_PG_HOST": "db", "NORDLEDGER_MARTS_PG_SSLMODE": "on"}, "NORDLEDGER_MARTS_PG_SSLMODE must"),
    ],
)
def test_scale_out_settings_refuse_what_would_be_read_differently_or_in_clear_text(tmp_path, env, error):
    with pytest.raises(ValueError, match=error):
        load_settings({"NORDLEDGER_DATA_DIR": str(tmp_path), **env})


def test_the_s3_lake_and_the_marts_database_switch_by_settings_alone(tmp_path):
    from orchestration.definitions import resources

    base = {"NORDLEDGER_DATA_DIR": str(tmp_path)}
    local = load_settings(base)
    assert (local.lake_location, local.dbt_target, local.marts_postgres) == (str(tmp_path / "lake"), "local", None)
    s3 = load_settings(
        {
            **base,
            "NORDLEDGER_LAKE_URL": "s3://nordledger-lake/office/",
            "AWS_ENDPOINT_URL": "http://127.0.0.1:9000/",
            "AWS_DEFAULT_REGION": "eu-north-1",
            "NORDLEDGER_MARTS_PG_HOST": "bi-db.internal",
        }
    )
    assert (s3.lake_location, s3.s3_endpoint, s3.s3_region, s3.dbt_target) == (
        "s3://nordledger-lake/office",
        "http://127.0.0.1:9000",
        "eu-north-1",
        "local_s3",
    )
    assert s3.marts_postgres is not None and s3.marts_postgres.sslmode == "require"  # beyond loopback: TLS
    lake, warehouse = resources(s3)["lake"], resources(s3)["warehouse"]
    assert lake.root == "s3://nordledger-lake/office" and lake.store.partition(
        "fennoa", "ledger", "aurora", "2025"
    ) == ("nordledger-lake/office/raw/fennoa/ledger/company=aurora/fiscal_year=2025")
    assert warehouse.postgres_host == "bi-db.internal" and "password" not in str(warehouse.model_dump())
    with pytest.raises(ValueError, match="would escape the lake root"):
        lake.store.partition("fennoa", "ledger", "../aurora", "2025")


def test_the_dagster_environment_is_set_where_runs_are_created_unless_the_operator_chose_otherwise():
    import os

    import orchestration.definitions  # noqa: F401  (sets it on import: this process creates runs too)
    from orchestration.dagster_env import DAGSTER_ENV, with_dagster_env

    assert all(os.environ.get(name) for name in DAGSTER_ENV)
    [name] = DAGSTER_ENV
    assert with_dagster_env({})[name] == "true"
    assert with_dagster_env({name: "false", "PATH": "/bin"}) == {name: "false", "PATH": "/bin"}
