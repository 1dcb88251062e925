"""`make demo`: start the simulator, materialize every asset for every company, print the books.

Runs the real definitions against a project-local Dagster instance (DAGSTER_HOME), so `make dev`
shows the same materializations afterwards. Each extract job covers all its partitions in one
run (single-run backfill policy), so the whole demo is a handful of Dagster runs.
"""

from __future__ import annotations

import os
import sys
import time
from contextlib import ExitStack
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb

from connectors.fiscal import month_end
from connectors.settings import PROJECT_ROOT, Settings, load_settings
from orchestration.definitions import build_pipeline
from orchestration.devserver import SIMULATOR_PORT, PortTakenError, our_simulator_running
from orchestration.runner import materialize_all


def latest_closed_month(last_entry: date) -> date:
    """The end of the latest month the books are complete for: the month of the last entry counts only
    when that entry is on its last day."""
    end = month_end(last_entry)
    return end if last_entry == end else last_entry.replace(day=1) - timedelta(days=1)


def statements_report(published_db: Path) -> str:
    """Each company's P&L year to date at its latest closed month beside the same months of the prior
    fiscal year (months aligned by month of the fiscal year), and the balance sheet at that month end."""
    con = duckdb.connect(str(published_db), read_only=True)
    try:
        companies = con.execute("""
            select c.company_id, c.company_name, c.source_system, max(g.entry_date)
            from marts.dim_company as c join marts.fct_gl_entries as g using (company_id)
            group by all order by 1""").fetchall()
        out = []
        for company_id, name, erp, last_entry in companies:
            found = con.execute(
                "select fiscal_year, month_of_fiscal_year, month_end from marts.rpt_profit_and_loss "
                "where company_id = ? and month_end <= ? order by month_end desc limit 1",
                [company_id, latest_closed_month(last_entry)],
            ).fetchall()
            if not found:
                continue
            fiscal_year, month_of_year, through = found[0]
            fy = con.execute(
                "select start_date, end_date, length_months from marts.dim_fiscal_period "
                "where company_id = ? and fiscal_year = ?",
                [company_id, fiscal_year],
            ).fetchall()[0]
            months = "month 1" if month_of_year == 1 else f"months 1-{month_of_year}"
            out.append(
                f"\n{name} ({company_id}, {erp}) - fiscal year {fiscal_year}: {fy[0]}..{fy[1]} "
                f"({fy[2]} months), last entry {last_entry}"
            )
            out.append(
                f"  P&L {fy[0]}..{through}, the latest closed month: {months}, beside {months} of the prior fiscal year"
            )
            out.append(f"  {'':<52}{'year to date':>16}{'prior year':>16}")
            for label, level, ytd, prior in con.execute(
                """
                    select label_en, level, amount_ytd, amount_prior_year_ytd from marts.rpt_profit_and_loss
                    where company_id = ? and fiscal_year = ? and month_end = ?
                      and is_printed and (level = 0 or amount_ytd <> 0 or amount_prior_year_ytd <> 0)
                    order by ordinal""",
                [company_id, fiscal_year, through],
            ).fetchall():
                indent = "  " * (level + 1)  # a sub-item under its item, as the decree lays them out
                prior_text = f"{prior:>16,.2f}" if prior is not None else f"{'-':>16}"
                out.append(f"{indent}{label:<{52 - len(indent) + 2}}{ytd:>16,.2f}{prior_text}")
            balance_date = con.execute(
                "select max(month_end) from marts.rpt_balance_sheet where company_id = ? and month_end <= ?",
                [company_id, through],
            ).fetchall()[0][0]
            out.append(f"  Balance sheet at {balance_date}")
            for label, amount in con.execute(
                """
                    select label_en, amount from marts.rpt_balance_sheet
                    where company_id = ? and month_end = ? and (level = 0 or report_line_code in
                        ('BS_PRIOR_YEARS_RESULT', 'BS_CURRENT_YEAR_RESULT'))
                    order by ordinal""",
                [company_id, balance_date],
            ).fetchall():
                out.append(f"    {label:<50}{amount:>16,.2f}")
        return "\n".join(out)
    finally:
        con.close()


def authorize_simulated_banks(settings: Settings, log=print) -> None:
    """Give every bank connection a fresh consent from the simulator (a real one needs a person)."""
    from connectors.companies import load_companies
    from orchestration.bank import authorize

    for _, connection in load_companies(settings.companies_file, require_env=False).bank_connections():
        authorize(connection.id, timeout=30, auto=True, out=lambda *_: None, settings=settings)
        log(f"  bank connection {connection.id}: consent given in the simulator")


def ensure_dagster_home() -> Path:
    """The instance directory (DAGSTER_HOME, by default the project's dagster_home), with its dagster.yaml."""
    home = Path(os.environ.get("DAGSTER_HOME") or PROJECT_ROOT / "dagster_home")
    home.mkdir(parents=True, exist_ok=True)
    os.chmod(home, 0o700)  # the instance's runs, logs and event log are the owner's
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text((PROJECT_ROOT / "orchestration" / "instance" / "dagster.yaml").read_text())
    return home


def main() -> int:
    settings: Settings = load_settings()
    home = ensure_dagster_home()
    pipeline = build_pipeline(settings)

    try:
        running = our_simulator_running(SIMULATOR_PORT)
    except PortTakenError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    with ExitStack() as stack:
        if running:
            print(f"Simulator already running on 127.0.0.1:{SIMULATOR_PORT} (this checkout's)")
        else:
            from simulator.server import serve_in_thread

            stack.enter_context(serve_in_thread(SIMULATOR_PORT))
            print(f"Simulator started on 127.0.0.1:{SIMULATOR_PORT}")
        authorize_simulated_banks(settings)
        with dg.DagsterInstance.from_config(str(home)) as instance:
            runs_before = instance.get_runs_count()
            started = time.monotonic()
            print("Materializing every asset (one run per job, all partitions in each run):")
            results = materialize_all(pipeline, instance)
            runs = instance.get_runs_count() - runs_before
            elapsed = time.monotonic() - started
        if not all(r.success for r in results):
            print(
                f"\nDemo FAILED after {runs} Dagster runs. Details: `make dev` and open the failed run.",
                file=sys.stderr,
            )
            return 1

    print(statements_report(settings.published_db))
    print(f"\n{runs} Dagster runs in {elapsed:.0f} s. Published warehouse (read-only, for BI tools):")
    print(f"  {settings.published_db}")
    shell = Path(sys.executable).parent / "duckdb"  # the duckdb-cli package, installed with the project
    print(f'  e.g. {shell} -readonly {settings.published_db} "select * from marts.rpt_profit_and_loss limit 5"')
    from orchestration.refresh import consents

    for consent in consents(settings, pipeline.config, datetime.now(UTC)):
        print(
            f"Bank connection {consent.connection_id} ({consent.company_id}): consent {consent.state} until "
            f"{consent.expires:%Y-%m-%d}" + (f" - renew with: {consent.command}" if consent.state != "ok" else "")
        )
    print(f"Dagster UI on the same data: make dev   (then open http://127.0.0.1:3000; DAGSTER_HOME={home})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
