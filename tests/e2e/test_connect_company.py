"""A new user's path, as the README tells it: a companies file with one company of their own pointing at
the simulator, `nordledger companies`, `nordledger check` (ok; with a wrong key it names company,
endpoint and field), `nordledger sync` (its statements in the published warehouse, its runs in the
instance), then the entry deleted and `nordledger remove` (gone from the next published warehouse,
its data archived). The real command, the real definitions, the simulator over loopback HTTP."""

from __future__ import annotations

import os

import dagster as dg
import duckdb
import pytest
import yaml
from click.testing import CliRunner

from orchestration.cli import main

pytestmark = pytest.mark.e2e

WRONG_KEY = "wrong-key-4f9c2e"


def _company(simulator_url: str, company_id: str, name: str, business_id: str, prefix: str) -> dict:
    return {
        "id": company_id,
        "name": name,
        "business_id": business_id,
        "erp": "fennoa",
        "base_url": f"{simulator_url}/fennoa/api",
        "credentials": {"username": f"{prefix}_FENNOA_USER", "api_key": f"{prefix}_FENNOA_API_KEY"},
    }


def _write(path, *companies: dict) -> None:
    path.write_text(yaml.safe_dump({"fiscal_years": {"first": 2024, "last": 2027}, "companies": list(companies)}))


def _invoke(companies_file, *args: str):
    result = CliRunner().invoke(main, ["--companies-file", str(companies_file), *args], catch_exceptions=False)
    return result.exit_code, result.output


def _rows(db, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_connect_check_sync_and_remove_a_company_of_ones_own(tmp_path, simulator_url, monkeypatch):
    companies = tmp_path / "companies.yaml"
    _write(companies, _company(simulator_url, "acme", "Acme Oy", "4567890-7", "ACME"))
    home = tmp_path / "dagster_home"
    for name, value in {
        "NORDLEDGER_COMPANIES_FILE": str(companies),
        "NORDLEDGER_DATA_DIR": str(tmp_path / "data"),
        "DAGSTER_HOME": str(home),
        # the user's own variable names; the values are what the simulator's tenant accepts
        "ACME_FENNOA_USER": os.environ["CIRRUS_FENNOA_USER"],
        "ACME_FENNOA_API_KEY": os.environ["CIRRUS_FENNOA_API_KEY"],
    }.items():
        monkeypatch.setenv(name, value)
    secret = os.environ["ACME_FENNOA_API_KEY"]

    code, out = _invoke(companies, "companies")
    assert code == 0, out
    assert "acme" in out and "ACME_FENNOA_API_KEY" in out and "MISSING" not in out and secret not in out

    code, out = _invoke(companies, "check")
    assert code == 0, out
    for endpoint in ("authenticate", "accounts", "periods", "ledger", "opening_balances", "account_balances"):
        assert any(line.split()[:2] == [endpoint, "ok"] for line in out.splitlines()), (endpoint, out)
    assert "1 of 1 companies ok" in out and secret not in out

    monkeypatch.setenv("ACME_FENNOA_API_KEY", WRONG_KEY)
    code, out = _invoke(companies, "check", "acme")
    assert code == 1, out
    assert "bad credentials" in out and "company 'acme'" in out and "endpoint 'periods'" in out
    assert "api_key (ACME_FENNOA_API_KEY)" in out
    assert WRONG_KEY not in out and secret not in out
    monkeypatch.setenv("ACME_FENNOA_API_KEY", secret)

    code, out = _invoke(companies, "sync", "acme")
    assert code == 0, out
    assert "fennoa_reference_job" in out and "fennoa_fiscal_year_job (acme|2025 .. acme|2026)" in out
    assert "raw__fennoa__ledger" in out and "warehouse_models" in out and "3 Dagster runs (0 failed)" in out
    assert "START sql" not in out, "dbt's own log lines stay out of the terminal"
    published = tmp_path / "data" / "warehouse" / "warehouse.duckdb"
    [(lines, years)] = _rows(
        published,
        "select count(*), count(distinct fiscal_year) from marts.rpt_profit_and_loss where company_id = 'acme'",
    )
    assert lines > 0 and years == 2
    assert _rows(published, "select count(*) > 0 from marts.fct_gl_entries where company_id = 'acme'") == [(True,)]
    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_runs()
        assert len(runs) == 3 and all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)

    # removing: refused while the file still has the company, then its entry goes and its data follows
    code, out = CliRunner().invoke(main, ["--companies-file", str(companies), "remove", "acme"]).exit_code, None
    assert code != 0
    _write(companies, _company(simulator_url, "bolt", "Bolt Oy", "2345678-0", "BOLT"))
    code, out = _invoke(companies, "remove", "acme")
    assert code == 0, out
    assert "Archived acme (fennoa)" in out and "_archive" in out and "Published without acme" in out
    lake = tmp_path / "data" / "lake"
    assert not list((lake / "raw").glob("*/*/company=acme"))
    assert list((lake / "_archive").glob("*-acme/raw/fennoa/ledger/company=acme/fiscal_year=2026/part-0.parquet"))
    assert _rows(published, "select count(*) from marts.fct_gl_entries where company_id = 'acme'") == [(0,)]
    assert _rows(published, "select count(*) from marts.dim_company where company_id = 'acme'") == [(0,)]
