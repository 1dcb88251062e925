"""How a failed dbt build is reported when no accounting check explains it, and what the dbt resource
spends before dbt starts."""

import importlib.metadata
from pathlib import Path

import dagster_dbt.core.resource
import pytest
from packaging import version

from assets.transform import WarehouseDbt, build_failure, dbt_executable
from connectors.settings import DBT_PROJECT_DIR


def test_a_lock_conflict_says_who_holds_the_file_and_what_to_do():
    failure = build_failure(
        'IO Error: Could not set lock on file "/d/build.duckdb": Conflicting lock is held in python3 (PID 7)',
        Path("/d/build.duckdb"),
    )
    assert "locked by another process" in failure.description and "Accounting checks" not in failure.description
    assert failure.metadata["cause"].value == "lock_conflict"


def test_a_sql_error_is_a_dbt_error_with_its_message():
    failure = build_failure('Parser Error: syntax error at or near "Brien"', Path("/d/build.duckdb"))
    assert failure.description.startswith("dbt build failed (not an accounting check")
    assert 'syntax error at or near "Brien"' in failure.description
    assert failure.metadata["cause"].value == "dbt_error"


def test_the_dbt_resource_knows_the_version_beside_this_python_without_starting_dbt(monkeypatch):
    def no_subprocess(*args, **kwargs):
        raise AssertionError(f"started {args}")

    monkeypatch.setattr(dagster_dbt.core.resource, "check_output", no_subprocess)
    dbt = WarehouseDbt(
        project_dir=str(DBT_PROJECT_DIR), profiles_dir=str(DBT_PROJECT_DIR), dbt_executable=dbt_executable()
    )
    assert dbt._cli_version == version.parse(importlib.metadata.version("dbt-core"))
    assert dbt._initialize_dbt_core_adapter(["build"]) is None  # no in-process adapter: nothing here needs one


def test_another_dbt_executable_is_asked_its_version(monkeypatch, tmp_path):
    other = tmp_path / "dbt"
    other.write_text("#!/bin/sh\n")
    other.chmod(0o755)
    asked = []

    def answer(command, *args, **kwargs):
        asked.append(command)
        return b"Core:\n  - installed: 1.11.9\n"

    monkeypatch.setattr(dagster_dbt.core.resource, "check_output", answer)
    dbt = WarehouseDbt(project_dir=str(DBT_PROJECT_DIR), dbt_executable=str(other))
    assert dbt._cli_version == version.parse("1.11.9") and asked == [[str(other), "--version"]]


def test_the_warm_parse_leaves_the_next_parse_nothing_to_redo(tmp_path):
    """What the end-to-end tests' "parsed partially" checks rest on: dbt logs why it parses whole (here, no
    saved parse yet), and a second parse with the same vars logs no reason."""
    from assets.transform import start_parse
    from connectors.settings import load_settings
    from tests.e2e.conftest import last_build_full_parse_reasons

    settings = load_settings({"NORDLEDGER_DATA_DIR": str(tmp_path)})
    assert start_parse(settings).wait() == 0
    assert last_build_full_parse_reasons(settings) != []
    assert start_parse(settings).wait() == 0
    assert last_build_full_parse_reasons(settings) == []


def test_a_build_on_an_s3_lake_without_the_key_pair_names_what_is_missing(tmp_path, monkeypatch):
    from assets.transform import prepare_dbt_build
    from connectors.companies import load_companies
    from connectors.settings import PROJECT_ROOT, load_settings

    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-this-one")
    settings = load_settings({"NORDLEDGER_DATA_DIR": str(tmp_path), "NORDLEDGER_LAKE_URL": "s3://nordledger-lake/x"})
    config = load_companies(PROJECT_ROOT / "companies.yaml", require_env=False)
    with pytest.raises(RuntimeError, match="AWS_ACCESS_KEY_ID not set") as caught:
        prepare_dbt_build(config, settings)
    assert "not-this-one" not in str(caught.value)
