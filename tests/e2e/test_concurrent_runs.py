"""The demo companies materialized with each ERP's jobs in a process of its own, all at once (as the run
queue runs them), into a fresh instance: every run succeeds and the published GL equals the one the
sequential session run published, per company, fiscal year and account."""

import shutil

import dagster as dg
import duckdb
import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.e2e

GL = """select company_id, fiscal_year, account_number, sum(debit) - sum(credit), count(*)
        from marts.fct_gl_entries group by all order by all"""


def _gl(db) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(GL).fetchall()
    finally:
        con.close()


def test_erps_extracted_concurrently_publish_the_same_books(pipeline, tmp_path, monkeypatch):
    from connectors.settings import load_settings
    from orchestration.definitions import build_pipeline
    from orchestration.demo import authorize_simulated_banks
    from orchestration.runner import materialize_concurrently

    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "orchestration" / "instance" / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))  # the spawned processes open the same instance
    monkeypatch.setenv("NORDLEDGER_DATA_DIR", str(tmp_path / "data"))
    settings = load_settings()
    authorize_simulated_banks(settings, log=lambda *_: None)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = materialize_concurrently(build_pipeline(settings), instance, log=lambda *_: None)
        assert [r.errors for r in runs if not r.success] == []
        assert len({r.run_id for r in runs}) == len(runs) == instance.get_runs_count() == 9
    assert _gl(settings.published_db) == _gl(pipeline["settings"].published_db)
