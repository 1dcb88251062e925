"""The demo companies materialized with each ERP's jobs in a process of its own, all at once (as the run
queue runs them), into a fresh instance: every run succeeds and the published GL equals the simulator's
books, per company, fiscal year and account."""

import shutil

import dagster as dg
import duckdb
import pytest

from simulator.catalogue import as_of, books_for, demo_tenants
from tests.conftest import ROOT, write_companies
from tests.e2e.conftest import book_totals

pytestmark = pytest.mark.e2e

GL = "select company_id, fiscal_year, account_number, sum(amount) from marts.fct_gl_entries group by all"


def _gl(db) -> dict[tuple, object]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {(c, fy, account): amount for c, fy, account, amount in con.execute(GL).fetchall() if amount}
    finally:
        con.close()


def _books() -> dict[tuple, object]:
    """(company, fiscal year, account) -> the simulator's net amount, for every demo company."""
    return {
        (tenant.profile.key, *key): amount
        for tenant in demo_tenants()
        for key, amount in book_totals(books_for(tenant.profile, as_of())).items()
        if amount
    }


def test_erps_extracted_concurrently_publish_the_same_books(tmp_path, monkeypatch, simulator_url):
    from connectors.settings import load_settings
    from orchestration.definitions import build_pipeline
    from orchestration.demo import authorize_simulated_banks
    from orchestration.runner import materialize_concurrently

    monkeypatch.setenv("NORDLEDGER_COMPANIES_FILE", str(write_companies(tmp_path / "companies.yaml", simulator_url)))
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
    gl = _gl(settings.published_db)
    assert len({company for company, *_ in gl}) == 5 and gl == _books()
