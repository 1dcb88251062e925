"""Books the ERP spoils, end to end: a voucher that does not balance and a line on an account missing from the
chart each fail their own check by name and block the publish; books that were never closed still balance."""

from pathlib import Path

import dagster as dg
import duckdb
import pyarrow.parquet as pq
import pytest

from connectors.settings import load_settings
from orchestration.definitions import build_pipeline
from orchestration.runner import materialize_all

pytestmark = pytest.mark.e2e


def run_tampered(tmp: Path, simulator_url: str, tampers: dict[str, str]):
    """A fresh pipeline over the named Fennoa companies, fiscal years 2024-2026, each company's books spoiled
    by the simulator's tamper kind given for it."""
    import httpx
    import yaml

    from tests.conftest import write_companies

    path = write_companies(tmp / "companies.yaml", simulator_url, first_year=2024, last_year=2026)
    config = yaml.safe_load(path.read_text())
    config["companies"] = [{**c, "bank_connections": []} for c in config["companies"] if c["id"] in tampers]
    path.write_text(yaml.safe_dump(config))
    for company, kind in tampers.items():
        httpx.post(f"{simulator_url}/_sim/tamper", json={"api": "fennoa", "company": company, "kind": kind})
    try:
        settings = load_settings({"NORDLEDGER_COMPANIES_FILE": str(path), "NORDLEDGER_DATA_DIR": str(tmp / "data")})
        with dg.DagsterInstance.ephemeral() as instance:
            return settings, materialize_all(build_pipeline(settings), instance, log=lambda *_: None)
    finally:
        httpx.delete(f"{simulator_url}/_sim/tamper")


@pytest.fixture(scope="module")
def spoiled(tmp_path_factory, simulator_url):
    """One run over two companies with different bad books: aurora has a voucher off by 1.00, cirrus a line
    on an account missing from its chart. Each problem fails its own check, naming its own company."""
    return run_tampered(
        tmp_path_factory.mktemp("spoiled"), simulator_url, {"aurora": "unbalanced_voucher", "cirrus": "unknown_account"}
    )


def test_an_unbalanced_voucher_fails_its_check_by_name_and_blocks_the_publish(spoiled):
    settings, results = spoiled
    warehouse = results[-1]
    assert [r.success for r in results] == [True, True, False]
    failed = {e.check_name: e for e in warehouse.get_asset_check_evaluations() if not e.passed}
    assert "assert_vouchers_balance" in failed
    problems = failed["assert_vouchers_balance"].metadata["problems"].value
    assert "company aurora, voucher " in problems and "does not balance" in problems
    assert "cirrus" not in problems  # its books balance; only its chart is wrong
    publish = [e for e in warehouse.all_events if e.step_key == "published__warehouse"]
    assert not any(e.event_type_value == "STEP_SUCCESS" for e in publish)
    assert not settings.published_db.exists()
    failures = [e.event_specific_data.error.message for e in warehouse.all_events if e.is_step_failure]
    assert any("company aurora, voucher" in m for m in failures), failures


def test_a_line_on_an_account_missing_from_the_chart_is_kept_raw_flagged_and_blocks_publish(spoiled):
    settings, results = spoiled
    assert [r.success for r in results] == [True, True, False]

    def raw_accounts(company: str) -> list[str]:
        ledger = settings.lake_root / f"raw/fennoa/ledger/company={company}"
        return pq.read_table(ledger, partitioning=None, columns=["account_number"]).column("account_number").to_pylist()

    assert "9999" in raw_accounts("cirrus")  # kept in the raw layer as the ERP sent it
    assert "9999" not in raw_accounts("aurora")
    failed = {e.check_name: e for e in results[-1].get_asset_check_evaluations() if not e.passed}
    problems = failed["assert_accounts_exist_in_chart"].metadata["problems"].value
    assert "company cirrus, voucher " in problems and "account 9999 is not in the chart of accounts" in problems
    assert "aurora" not in problems
    assert not settings.published_db.exists()


def test_books_that_were_never_closed_still_balance(tmp_path, simulator_url):
    settings, results = run_tampered(tmp_path, simulator_url, {"aurora": "no_opening_balances"})
    failures = [
        e.event_specific_data.error.message
        for r in results
        for e in r.all_events
        if e.event_type_value == "STEP_FAILURE"
    ]
    assert failures == []
    evaluations = {e.check_name: e.passed for e in results[-1].get_asset_check_evaluations()}
    assert all(evaluations.values()), {k: v for k, v in evaluations.items() if not v}
    con = duckdb.connect(str(settings.published_db), read_only=True)
    assert (
        con.execute(
            "select count(*) from marts.fct_gl_entries where is_opening_balance and fiscal_year = 2026"
        ).fetchone()[0]
        == 0
    )
    prior_2026, result_2025 = con.execute("""
        select (select amount from marts.rpt_balance_sheet where company_id = 'aurora' and month_end = '2026-01-31'
                and report_line_code = 'BS_PRIOR_YEARS_RESULT'),
               (select amount from marts.rpt_balance_sheet where company_id = 'aurora' and month_end = '2025-01-31'
                and report_line_code = 'BS_PRIOR_YEARS_RESULT')
                + (select amount_ytd from marts.rpt_profit_and_loss where company_id = 'aurora' and month_end = '2025-12-31'
                   and report_line_code = 'PL_NET_RESULT')""").fetchone()
    assert prior_2026 == result_2025  # last year's result moved into prior years' result, virtually
