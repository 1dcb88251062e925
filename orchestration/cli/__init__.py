"""The `nordledger` command: connect companies, test their connections, sync them, remove them; the demo and the UI."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import click
import yaml

from connectors.companies import is_loopback_host
from connectors.settings import PROJECT_ROOT

if TYPE_CHECKING:
    from connectors.companies import CompaniesConfig
    from connectors.settings import Settings

DEMO_ENV = PROJECT_ROOT / "demo.env"

GUIDE = f"""Finnish ERPs (Fennoa, Netvisor, Procountor) and bank data into a DuckDB warehouse.

\b
Connecting a company of your own:
  1. Create its API credentials on the ERP's side (README: "Connect your own ERP").
  2. Add it to companies.yaml: id, name, business id, erp, and the NAMES of the
     environment variables that will hold its credentials.
  3. Set those variables (in your shell or secret store, or a file: --env-file).
  4. nordledger companies       which credential variables are set or missing
  5. nordledger check acme      authenticate and touch every endpoint the pipeline reads
  6. nordledger sync acme       reference data, fiscal years and the warehouse, as Dagster runs
  7. nordledger dev             the Dagster UI: the runs, and the schedules that take over nightly

\b
Pausing one: `nordledger pause acme` (and `resume`). Taking one out: delete its entry
from companies.yaml, then `nordledger remove acme`.
The demo, with no credentials at all: `nordledger demo`.

\b
Where things are (as `make` sets them):
  companies file  --companies-file, else NORDLEDGER_COMPANIES_FILE, else {PROJECT_ROOT / "companies.yaml"}
  Dagster home    DAGSTER_HOME, else {PROJECT_ROOT / "dagster_home"}
  credentials     the environment; variables not set there are read from --env-file
                  (default {DEMO_ENV.name}, the demo credentials, for variables that only companies
                  served by the simulator on loopback name: never sent to a real API)
"""


def read_env_file(path: Path) -> dict[str, str]:
    """`NAME=value` lines (comments and blank lines skipped), as `make` includes demo.env."""
    values = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line and not line.startswith("#") and "=" in line:
            name, _, value = line.partition("=")
            values[name.strip().removeprefix("export ").strip()] = value.strip()
    return values


def _real_api_variables(companies_file: Path) -> set[str]:
    """Credential variable names of companies and bank connections that talk to a real API (no base_url,
    or one beyond loopback): demo credentials must never be sent there. A file that cannot be read is
    reported by the command that loads it; here it only means nothing is known to be safe."""
    try:
        raw = yaml.safe_load(companies_file.read_text(encoding="utf-8")) or {}
        entries = [e for c in raw.get("companies") or [] for e in (c, *(c.get("bank_connections") or []))]
        return {
            str(name)
            for entry in entries
            if not is_loopback_host(urlsplit(str(entry.get("base_url") or "")).hostname or "")
            for name in (entry.get("credentials") or {}).values()
        }
    except (OSError, yaml.YAMLError, AttributeError, TypeError):
        return {"*"}


def prepare_environment(companies_file: Path | None, env_file: Path | None) -> None:
    """DAGSTER_HOME (the project's instance), the companies file to use, and the credentials of the env
    file for variables the environment does not set. Without --env-file, demo.env fills in only variables
    that no company or bank connection of a real API names: one of those left unset must show as missing,
    never fall back to a demo credential (they open only the simulator) sent to the vendor."""
    os.environ.setdefault("DAGSTER_HOME", str(PROJECT_ROOT / "dagster_home"))
    if companies_file is not None:
        os.environ["NORDLEDGER_COMPANIES_FILE"] = str(companies_file.resolve())
    if env_file is not None:
        for name, value in read_env_file(env_file).items():
            os.environ.setdefault(name, value)
        return
    if not DEMO_ENV.exists():
        return
    real = _real_api_variables(Path(os.environ.get("NORDLEDGER_COMPANIES_FILE") or PROJECT_ROOT / "companies.yaml"))
    for name, value in read_env_file(DEMO_ENV).items():
        if name not in real and "*" not in real:
            os.environ.setdefault(name, value)


def _load() -> tuple[Settings, CompaniesConfig]:
    from connectors.companies import CompaniesConfigError, load_companies
    from connectors.settings import load_settings

    settings = load_settings()
    try:
        return settings, load_companies(settings.companies_file, require_env=False)
    except CompaniesConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _terminal() -> Callable[[str], None]:
    """A log function bound to this command's stdout as it is now: a run sends the process's stdout
    to a file while dbt runs (see `orchestration.runner.quiet_stdout`), the progress lines still show."""
    stream = sys.stdout
    return lambda line: click.echo(line, file=stream)


def _instance_home() -> Path:
    from orchestration.demo import ensure_dagster_home

    return ensure_dagster_home()


@click.group(help=GUIDE, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.option(
    "--companies-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The companies file (default: NORDLEDGER_COMPANIES_FILE, else companies.yaml of this checkout).",
)
@click.option(
    "--env-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="NAME=value lines for credential variables the environment does not set (default: demo.env, "
    "for variables only simulator companies name).",
)
def main(companies_file: Path | None, env_file: Path | None) -> None:
    prepare_environment(companies_file, env_file)


@main.command(short_help="Companies, their ERP, credential variables and bank consents.")
def companies() -> None:
    """Each company: its ERP, its credential variables (set or missing), bank connections and consents.

    Also lists data in the lake that no configured company claims (a company taken out of the file,
    the old ERP of a company moved to another): `nordledger remove` archives it.
    """
    from datetime import UTC, datetime

    import dagster as dg

    from assets.lake_store import lake_store
    from orchestration.refresh import consents, is_paused, pause_record
    from orchestration.removal import stale

    settings, config = _load()
    click.echo(f"Companies in {settings.companies_file}:")
    states = {c.connection_id: c for c in consents(settings, config, datetime.now(UTC))}
    with dg.DagsterInstance.from_config(str(_instance_home())) as instance:
        paused = {
            c.id: (pause_record(instance, c.id) or {}).get("reason", "")
            for c in config.companies
            if is_paused(instance, settings, c)
        }
    for company in config.companies:
        spec = company.spec
        click.echo(f"\n{company.id}  {company.name} ({company.business_id}), {spec.title}")
        if company.id in paused:
            click.echo(f"  PAUSED       {paused[company.id]} (nordledger resume {company.id})")
        click.echo(f"  address      {company.base_url or spec.default_base_url}")
        for field in spec.credentials:
            variable = company.credentials[field.name]
            state = "set" if os.environ.get(variable) else "MISSING"
            click.echo(f"  {field.name:<12} {variable:<36} {state:<8} {field.description}")
        for option in spec.options:
            value = company.options.get(option.name) or "(default)"
            click.echo(f"  {option.name:<24} {value:<12} {option.description}")
        for connection in company.bank_connections:
            consent = states[connection.id]
            until = f" until {consent.expires:%Y-%m-%d}" if consent.expires else ""
            variables = ", ".join(
                f"{v} {'set' if os.environ.get(v) else 'MISSING'}" for v in connection.credentials.values()
            )
            click.echo(f"  bank {connection.id}: consent {consent.state}{until}; {variables}")
            if consent.state != "ok":
                click.echo(f"    renew with: nordledger bank authorize {connection.id}")
    leftovers = stale(lake_store(settings), config)
    if leftovers:
        click.echo("\nIn the lake but not claimed by the companies file (archive with `nordledger remove <company>`):")
        for s in leftovers:
            click.echo(f"  {s.company} ({s.source}): {len(s.directories)} endpoints")


@main.command(short_help="Test the connection: every endpoint, per company.")
@click.argument("company_ids", nargs=-1, metavar="[COMPANY]...")
def check(company_ids: tuple[str, ...]) -> None:
    """Test the connection: authenticate as each company (default: all), then touch every endpoint the
    pipeline reads, and its bank connections.

    \b
    Each line is one endpoint:
      ok                   answered (the first batch's rows are shown; nothing is stored)
      credentials missing  the environment variable named is not set
      bad credentials      the ERP refused them: check the fields named
      missing right        authenticated, but the API user may not read this resource: grant it
      unreachable          no answer from the address shown
      bad answer           the ERP answered something the pipeline cannot read
    Exits non-zero when any line is not ok. No secret is printed.
    """
    from orchestration.connection_check import check as run_checks

    settings, config = _load()
    chosen = _companies(config, company_ids)
    failed = 0
    for probes in run_checks(settings, config, chosen):
        company = config.by_id[probes[0].company]
        bad = [p for p in probes if not p.ok]
        failed += bool(bad)
        click.echo(f"{company.id} ({company.spec.title}): {'ok' if not bad else 'FAILED'}")
        for probe in probes:
            click.echo(probe.line())
    click.echo(f"\n{len(chosen) - failed} of {len(chosen)} companies ok.")
    if failed:
        sys.exit(1)


def _companies(config: CompaniesConfig, ids: tuple[str, ...]) -> list:
    unknown = [i for i in ids if i not in config.by_id]
    if unknown:
        raise click.ClickException(
            f"not in the companies file: {', '.join(unknown)} (known: {', '.join(sorted(config.by_id))})"
        )
    return [config.by_id[i] for i in ids] if ids else list(config.companies)


@main.command(short_help="Sync companies now, as Dagster runs in the UI.")
@click.argument("company_ids", nargs=-1, metavar="[COMPANY]...")
@click.option("--erp", "erps", multiple=True, metavar="ERP", help="Every company of this ERP (repeatable).")
@click.option("--all", "everyone", is_flag=True, help="Every company in the companies file.")
@click.option(
    "--fiscal-years",
    "years",
    metavar="YEARS",
    help="e.g. 2024..2026, 2025 or 2024,2026 (the calendar year a fiscal year ends in). Default: every fiscal "
    "year the ERP has that is open or not yet synced; the nightly schedule then refreshes the open ones.",
)
@click.option("--full", is_flag=True, help="Re-read in full (not only the ERP's changes), every fiscal year it has.")
@click.option("--no-warehouse", is_flag=True, help="Extract only; do not rebuild and publish the warehouse.")
def sync(
    company_ids: tuple[str, ...],
    erps: tuple[str, ...],
    everyone: bool,
    years: str | None,
    full: bool,
    no_warehouse: bool,
) -> None:
    """Sync companies now: reference data, fiscal years, bank data, then the warehouse.

    \b
    nordledger sync acme                           everything for one company
    nordledger sync --erp netvisor --fiscal-years 2026   one fiscal year of every Netvisor company
    nordledger sync --all --full                   everything, read in full

    Runs as Dagster runs in the project's instance (DAGSTER_HOME), so they show in the UI (`nordledger
    dev`), with a line per step as it ends and a summary of rows, requests and warehouse checks. The
    partition keys and ranges Dagster wants are worked out here.
    """
    import dagster as dg

    from orchestration.definitions import build_pipeline
    from orchestration.sync import SyncError, parse_years, select_companies
    from orchestration.sync import sync as run_sync

    settings, config = _load()
    if not (company_ids or erps or everyone):
        raise click.UsageError("name the companies to sync, or use --erp ERP or --all")
    try:
        selected = select_companies(config, list(company_ids), list(erps), everyone)
        asked = parse_years(years) if years else None
        home = _instance_home()
        pipeline = build_pipeline(settings)
        with dg.DagsterInstance.from_config(str(home)) as instance:
            click.echo(f"Syncing {', '.join(selected)} (Dagster instance {home}):")
            report = run_sync(pipeline, instance, selected, asked, full, not no_warehouse, log=_terminal())
    except SyncError as exc:
        raise click.ClickException(str(exc)) from None
    _summary(report, settings)
    if not report.success:
        sys.exit(1)


def _summary(report, settings: Settings) -> None:
    total = report.tally
    failed_runs = [r for r in report.runs if not r.success]
    checks = (
        f"; warehouse checks {total.checks_passed} passed, {len(total.checks_failed)} failed"
        + (f" ({', '.join(total.checks_failed[:10])})" if total.checks_failed else "")
        if total.checks_passed or total.checks_failed
        else ""
    )
    click.echo(
        f"\n{len(report.runs)} Dagster runs ({len(failed_runs)} failed) in {sum(r.seconds for r in report.runs):.0f} s: "
        f"{total.rows} rows extracted with {total.requests} requests{checks}"
    )
    for note in report.notes:
        click.echo(f"  note: {note}")
    for run in failed_runs:
        click.echo(f"  FAILED {run.job} run {run.run_id}: see it in the UI (nordledger dev, then Runs)")
    if any(r.job == "warehouse_job" and r.success for r in report.runs):
        click.echo(f"Published warehouse (read-only, for BI tools): {settings.published_db}")
    click.echo("Runs in the UI: nordledger dev, then http://127.0.0.1:3000/runs")


@main.command(short_help="Archive a removed company's data; publish without it.")
@click.argument("company_ids", nargs=-1, required=True, metavar="COMPANY...")
@click.option(
    "--no-warehouse",
    is_flag=True,
    help="Archive only; the published warehouse keeps the company until the next warehouse run.",
)
def remove(company_ids: tuple[str, ...], no_warehouse: bool) -> None:
    """Archive a company's data after its entry left companies.yaml, then publish the warehouse without it.

    Its lake partitions move out of what dbt reads into data/lake/_archive/<time>-<company>/ (move them
    back under data/lake/ to restore them). Also archives the old ERP's data of a company moved to
    another ERP, and bank data of a company that no longer has a bank connection. The warehouse run
    that follows accepts the company's general ledger leaving the published copy.
    """
    import dagster as dg

    from assets.lake_store import lake_store
    from orchestration.definitions import build_pipeline
    from orchestration.removal import RemovalError, accept_tags
    from orchestration.removal import remove as archive
    from orchestration.sync import run_job

    settings, config = _load()
    try:
        archived = archive(lake_store(settings), config, list(company_ids))
    except RemovalError as exc:
        raise click.ClickException(str(exc)) from None
    for a in archived:
        click.echo(f"Archived {a.company} ({a.source}): {a.rows} rows in {a.endpoints} endpoints -> {a.to}")
    if no_warehouse:
        click.echo("The published warehouse still holds them until the next warehouse run.")
        return
    home = _instance_home()
    pipeline = build_pipeline(settings)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        run = run_job(pipeline, instance, pipeline.jobs.warehouse.name, accept_tags(list(company_ids)), _terminal())
    if not run.success:
        click.echo(f"Warehouse run {run.run_id} FAILED: the published warehouse is unchanged.", err=True)
        sys.exit(1)
    click.echo(f"Published without {', '.join(company_ids)}: {settings.published_db}")


@main.command(short_help="Leave companies out of the schedules.")
@click.argument("company_ids", nargs=-1, required=True, metavar="COMPANY...")
def pause(company_ids: tuple[str, ...]) -> None:
    """Leave companies out of the schedules and sensors (a `sync` by hand still runs them).

    The pause lasts until `nordledger resume`, or until the company's credential variables change (as
    for the pause the credential_failures sensor sets after a rejected login).
    """
    import dagster as dg

    from orchestration.refresh import credential_fingerprint
    from orchestration.refresh import pause as record_pause

    settings, config = _load()
    chosen = _companies(config, company_ids)
    with dg.DagsterInstance.from_config(str(_instance_home())) as instance:
        for company in chosen:
            record_pause(
                instance, company.id, credential_fingerprint(settings, company), "paused with nordledger pause"
            )
            click.echo(
                f"{company.id}: paused (schedules and sensors leave it out until `nordledger resume {company.id}`)"
            )


@main.command(short_help="Schedule paused companies again.")
@click.argument("company_ids", nargs=-1, required=True, metavar="COMPANY...")
def resume(company_ids: tuple[str, ...]) -> None:
    """Let the schedules and sensors run paused companies again."""
    import dagster as dg

    from orchestration.refresh import PAUSE_PREFIX, pause_record

    _, config = _load()
    chosen = _companies(config, company_ids)
    with dg.DagsterInstance.from_config(str(_instance_home())) as instance:
        for company in chosen:
            was = pause_record(instance, company.id)
            instance.run_storage.set_cursor_values({PAUSE_PREFIX + company.id: ""})  # empty: no record
            click.echo(f"{company.id}: " + (f"resumed (was: {was['reason']})" if was else "was not paused"))


@main.command(short_help="The demo: simulator, every asset, the books.")
def demo() -> None:
    """Start the simulator, materialize everything for the demo companies, print their books."""
    from orchestration.demo import main as run_demo

    sys.exit(run_demo())


@main.command(short_help="The Dagster UI, with the simulator.")
@click.option("--port", default=3000, show_default=True, help="Port of the Dagster UI.")
def dev(port: int) -> None:
    """The Dagster UI on 127.0.0.1, with the simulator on 127.0.0.1:8765 (started unless it already runs)."""
    from orchestration.devserver import run_dev

    _instance_home()
    sys.exit(run_dev(port))


@main.group(short_help="Bank consents: authorize, status.")
def bank() -> None:
    """Bank connections (PSD2 consents through the aggregator)."""


@bank.command()
@click.argument("connection")
@click.option("--timeout", default=600.0, show_default=True, help="Seconds to wait for the bank's redirect.")
def authorize(connection: str, timeout: float) -> None:
    """(Re)authorize a bank connection: open the URL printed, log in to the bank, and it completes by itself."""
    from connectors.errors import ConnectorError
    from orchestration.bank import authorize as run_authorize

    try:
        run_authorize(connection, timeout, out=click.echo)
    except ConnectorError as exc:
        raise click.ClickException(str(exc)) from None


@bank.command()
def status() -> None:
    """Every bank connection's consent expiry."""
    from connectors.errors import ConnectorError
    from orchestration.bank import status as run_status

    try:
        run_status(out=click.echo)
    except ConnectorError as exc:
        raise click.ClickException(str(exc)) from None
