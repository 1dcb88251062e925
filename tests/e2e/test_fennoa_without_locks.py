"""The demo's Fennoa companies on a server without `locking_periods` (not in Fennoa's published
reference): read in full, lock state unknown in the warehouse, and the statements equal both the
simulator's books and the same companies' statements from a server that has the resource."""

import dagster as dg
import duckdb
import pytest
import yaml

from connectors.settings import load_settings
from orchestration.definitions import build_pipeline
from orchestration.runner import materialize_all
from simulator.catalogue import as_of, books_for, demo_tenants
from simulator.fennoa import FennoaSimulator
from simulator.server import serve_in_thread
from tests.conftest import write_companies
from tests.e2e.conftest import book_totals

pytestmark = pytest.mark.e2e

FENNOA = {t.profile.key: t for t in demo_tenants() if t.erp == "fennoa"}
STATEMENT_ROWS = """
    select 'PL', company_id, month_end, report_line_code, amount_ytd from marts.rpt_profit_and_loss
    where source_system = 'fennoa'
    union all
    select 'BS', company_id, month_end, report_line_code, amount from marts.rpt_balance_sheet
    where source_system = 'fennoa'
    order by all"""


@pytest.fixture(scope="module")
def lockless(tmp_path_factory, simulator_url):
    """Every Fennoa company of the demo, extracted and published from a server without locking_periods."""
    tmp = tmp_path_factory.mktemp("lockless")
    with serve_in_thread(app=FennoaSimulator(demo_tenants(), locking_periods=False).app()) as url:
        path = write_companies(tmp / "companies.yaml", simulator_url)
        config = yaml.safe_load(path.read_text())
        config["companies"] = [
            {**c, "base_url": url, "bank_connections": []} for c in config["companies"] if c["erp"] == "fennoa"
        ]
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        settings = load_settings({"NORDLEDGER_COMPANIES_FILE": str(path), "NORDLEDGER_DATA_DIR": str(tmp / "data")})
        with dg.instance_for_test() as instance:
            results = materialize_all(build_pipeline(settings), instance, log=lambda *_: None)
    con = duckdb.connect(str(settings.published_db), read_only=True)
    yield results, con
    con.close()


def test_every_run_succeeds_and_every_check_passes(lockless):
    results, _ = lockless
    assert all(r.success for r in results)
    evaluations = {e.check_name: e.passed for r in results for e in r.get_asset_check_evaluations()}
    assert evaluations and all(evaluations.values()), {k: v for k, v in evaluations.items() if not v}


def test_the_lock_state_is_unknown_in_the_warehouse(lockless):
    _, con = lockless
    rows = con.execute(
        "select company_id, count(*), count(is_closed) from marts.dim_fiscal_period group by all order by 1"
    ).fetchall()
    assert [(company, n > 0, known) for company, n, known in rows] == [(k, True, 0) for k in sorted(FENNOA)]


def test_the_general_ledger_equals_the_books_per_company_year_and_account(lockless):
    _, con = lockless
    for key, tenant in FENNOA.items():
        expected = book_totals(books_for(tenant.profile, as_of()))
        got = {
            (fy, account): amount
            for fy, account, amount in con.execute(
                "select fiscal_year, account_number, sum(amount) from marts.fct_gl_entries "
                "where company_id = ? group by all",
                [key],
            ).fetchall()
        }
        assert {k: v for k, v in got.items() if v} == {k: v for k, v in expected.items() if v}, key


def test_the_statements_equal_those_from_a_server_with_locks(lockless, pipeline):
    _, con = lockless
    with duckdb.connect(str(pipeline["settings"].published_db), read_only=True) as locked:
        with_locks = locked.execute(STATEMENT_ROWS).fetchall()
    without = con.execute(STATEMENT_ROWS).fetchall()
    assert len(without) > 100
    assert without == with_locks
