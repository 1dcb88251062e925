"""`nordledger sync`: chosen companies' reference data, fiscal years, bank data and the warehouse, as
Dagster runs in the project's instance (they show in the UI), with a line per step as it ends.

Which fiscal years: those named, else every fiscal year the ERP has that is open (not locked) or not
yet in the lake - the open ones are what the nightly schedule refreshes, the rest a first sync adds.
`full` re-reads in full where a run would otherwise ask the ERP only for changes, and takes every
fiscal year the ERP has.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import dagster as dg

from assets.extract.incremental import INCREMENTAL, REFRESH_TAG
from assets.lake_store import lake_store
from assets.partitions import COMPANY, FISCAL_YEAR, fiscal_year_keys
from connectors.companies import CompaniesConfig, Company
from orchestration.recovery import reap_dead_runs
from orchestration.refresh import RANGE_END, RANGE_START, company_fiscal_years, consents, contiguous_blocks
from orchestration.runner import quiet_stdout

if TYPE_CHECKING:
    from orchestration.definitions import Pipeline

Log = Callable[[str], object]
_WATCHED = {
    dg.DagsterEventType.STEP_SUCCESS,
    dg.DagsterEventType.STEP_FAILURE,
    dg.DagsterEventType.ASSET_MATERIALIZATION,
    dg.DagsterEventType.ASSET_CHECK_EVALUATION,
}


# The terminal gets this module's progress lines only; every event is in the run's event log (the UI).
SILENT = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


class SyncError(ValueError):
    """The sync was asked for something the companies file or the ERP does not have."""


@dataclass
class StepTally:
    rows: int = 0
    requests: int = 0
    materialized: int = 0
    checks_passed: int = 0
    checks_failed: list[str] = field(default_factory=list)

    def add_materialization(self, event: dg.EventLogEntry) -> None:
        materialization = event.asset_materialization
        if materialization is None:
            return
        self.materialized += 1
        meta: dict[str, Any] = {k: v.value for k, v in materialization.metadata.items()}
        # an extract materializes each partition with its own rows and requests (a mart has no requests)
        self.rows += int(meta.get("dagster/row_count", 0) or 0) if "requests" in meta else 0
        self.requests += int(meta.get("requests", 0) or 0)

    def add_check(self, event: dg.EventLogEntry) -> None:
        evaluation = event.dagster_event.event_specific_data if event.dagster_event else None
        if not isinstance(evaluation, dg.AssetCheckEvaluation):
            return
        if evaluation.passed:
            self.checks_passed += 1
        else:
            self.checks_failed.append(f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}")

    def merge(self, other: StepTally) -> None:
        self.rows += other.rows
        self.requests += other.requests
        self.materialized += other.materialized
        self.checks_passed += other.checks_passed
        self.checks_failed += other.checks_failed


@dataclass
class RunOutcome:
    job: str
    run_id: str
    success: bool
    seconds: float
    tally: StepTally


@dataclass
class SyncReport:
    runs: list[RunOutcome] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return all(r.success for r in self.runs)

    @property
    def tally(self) -> StepTally:
        total = StepTally()
        for run in self.runs:
            total.merge(run.tally)
        return total


def _step_line(step: str, event: dg.EventLogEntry, tally: StepTally) -> list[str]:
    ok = event.dagster_event is not None and event.dagster_event.event_type == dg.DagsterEventType.STEP_SUCCESS
    seconds = getattr(event.dagster_event.event_specific_data, "duration_ms", None) if event.dagster_event else None
    took = f"{seconds / 1000:6.1f} s" if seconds is not None else " " * 8
    what = []
    if tally.requests or tally.rows:
        what.append(f"{tally.rows} rows, {tally.requests} requests")
    elif tally.materialized:
        what.append(f"{tally.materialized} assets")
    if tally.checks_passed or tally.checks_failed:
        what.append(f"checks {tally.checks_passed} passed, {len(tally.checks_failed)} failed")
    lines = [f"    {step:<40} {'ok' if ok else 'FAILED':<6} {took}  {'; '.join(what)}".rstrip()]
    if not ok and event.dagster_event is not None:
        error = getattr(event.dagster_event.event_specific_data, "error", None)
        if error is not None:
            lines += [f"      {line}" for line in error.message.strip().splitlines()[:6]]
    return lines


def run_job(
    pipeline: Pipeline, instance: dg.DagsterInstance, job_name: str, tags: dict[str, str], log: Log
) -> RunOutcome:
    """One run of a job in the instance, in this process; a line per step as it ends (read from the
    run's own event log, so what is printed is what the UI shows). While it runs, this process's
    stdout (where dbt's own lines go) is a file beside the warehouse: `log` must not print to stdout
    but to a stream it holds (the CLI passes the terminal's)."""
    for dead in reap_dead_runs(instance):  # a killed earlier run must not hold this job's pool
        log(f"  run {dead.run_id[:8]} ({dead.job_name}) had died (pid {dead.pid}): marked failed, slots freed")
    job = pipeline.defs.resolve_job_def(job_name)
    run_id = str(uuid.uuid4())  # known before the run starts, so its events can be followed
    scope = f"{tags[RANGE_START]} .. {tags[RANGE_END]}" if RANGE_START in tags else "all"
    log(f"  {job_name} ({scope}), run {run_id[:8]}")
    steps: dict[str, StepTally] = {}
    total = StepTally()
    done = threading.Event()

    def watch() -> None:
        seen = 0
        while True:
            finished = done.is_set()
            events = instance.all_logs(run_id, of_type=_WATCHED)
            for event in events[seen:]:
                step = event.step_key or "run"
                tally = steps.setdefault(step, StepTally())
                kind = event.dagster_event.event_type if event.dagster_event else None
                if kind == dg.DagsterEventType.ASSET_MATERIALIZATION:
                    tally.add_materialization(event)
                elif kind == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
                    tally.add_check(event)
                else:
                    for line in _step_line(step, event, tally):
                        log(line)
                    total.merge(tally)
                    steps[step] = StepTally()
            seen = len(events)
            if finished:
                return
            done.wait(0.5)

    watcher = threading.Thread(target=watch, name=f"progress-{run_id[:8]}", daemon=True)
    watcher.start()
    started = time.monotonic()
    try:
        with quiet_stdout(pipeline.settings, run_id):
            result = job.execute_in_process(
                instance=instance, tags=tags, run_id=run_id, raise_on_error=False, run_config=SILENT
            )
    finally:
        done.set()
        watcher.join()
    for leftover in steps.values():  # checks evaluated outside a step that ended (none expected)
        total.merge(leftover)
    return RunOutcome(job_name, run_id, result.success, time.monotonic() - started, total)


def stored_fiscal_years(pipeline: Pipeline, company: Company) -> set[str]:
    """The fiscal-year keys whose partitions of the company's first fiscal-year endpoint are in the lake."""
    endpoints = company.spec.endpoints_in("fiscal_year")
    if not endpoints:
        return set()
    lake = lake_store(pipeline.settings)
    return {
        key
        for key in fiscal_year_keys(pipeline.config)
        if lake.has_partition(lake.partition(endpoints[0].source, endpoints[0].name, company.id, key))
    }


def chosen_fiscal_years(pipeline: Pipeline, company: Company, asked: list[str] | None, full: bool) -> list[str]:
    """The fiscal-year keys a sync reads for the company (see the module docstring)."""
    valid = fiscal_year_keys(pipeline.config)
    if asked is not None:
        outside = sorted(set(asked) - set(valid))
        if outside:
            raise SyncError(
                f"fiscal years {', '.join(outside)} are outside the partitions of {pipeline.settings.companies_file} "
                f"({valid[0]}..{valid[-1]}; widen fiscal_years.first/last there)"
            )
        return sorted(set(asked))
    years = [y for y in company_fiscal_years(pipeline.settings, company) if str(y["fiscal_year"]) in valid]
    if full:
        return sorted({str(y["fiscal_year"]) for y in years})
    stored = stored_fiscal_years(pipeline, company)
    return sorted({str(y["fiscal_year"]) for y in years if not y["is_locked"] or str(y["fiscal_year"]) not in stored})


def parse_years(text: str) -> list[str]:
    """`2024..2026`, `2025` or `2024,2026` as fiscal-year keys."""
    years: list[int] = []
    for part in text.split(","):
        first, _, last = part.strip().partition("..")
        try:
            low, high = int(first), int(last or first)
        except ValueError:
            raise SyncError(f"{text!r}: give fiscal years as 2025, 2024..2026 or 2024,2026") from None
        if low > high:
            raise SyncError(f"{part.strip()!r}: the first year comes first")
        years += range(low, high + 1)
    return [str(y) for y in sorted(set(years))]


def _company_ranges(pipeline: Pipeline, erp: str, chosen: set[str]) -> list[dict[str, str]]:
    keys = sorted(c.id for c in pipeline.config.for_erp(erp))
    return [{RANGE_START: b[0], RANGE_END: b[-1]} for b in contiguous_blocks(keys, chosen)]


def _year_ranges(pipeline: Pipeline, company: str, years: list[str], last: str | None = None) -> list[dict[str, str]]:
    """Range tags over contiguous blocks of the years, for one company or the companies `company`..`last`
    (a company x fiscal-year box: Dagster takes each dimension's range)."""
    out = []
    for block in contiguous_blocks(fiscal_year_keys(pipeline.config), set(years)):
        start = dg.MultiPartitionKey({COMPANY: company, FISCAL_YEAR: block[0]})
        end = dg.MultiPartitionKey({COMPANY: last or company, FISCAL_YEAR: block[-1]})
        tags = {RANGE_START: str(start), RANGE_END: str(end)}
        out.append(tags if last not in (None, company) else {**tags, "nordledger/company": company})
    return out


def select_companies(config: CompaniesConfig, ids: list[str], erps: list[str], everyone: bool = False) -> list[str]:
    """The companies named, plus every company of the ERPs named (or every company), in file order."""
    unknown = sorted(set(erps) - set(config.erps))
    if unknown:
        raise SyncError(
            f"no company of ERP {', '.join(unknown)} in the companies file (ERPs there: {', '.join(config.erps)})"
        )
    chosen = [c.id for c in config.companies if everyone or c.erp in erps]
    selected = list(dict.fromkeys([*ids, *chosen]))
    if not selected:
        raise SyncError("name the companies to sync, or an ERP, or all of them")
    return selected


def resolve_companies(pipeline: Pipeline, ids: list[str]) -> list[Company]:
    unknown = [i for i in ids if i not in pipeline.config.by_id]
    if unknown:
        raise SyncError(
            f"{', '.join(unknown)}: not in {pipeline.settings.companies_file} "
            f"(known: {', '.join(sorted(pipeline.config.by_id))})"
        )
    return [pipeline.config.by_id[i] for i in ids]


def sync(
    pipeline: Pipeline,
    instance: dg.DagsterInstance,
    company_ids: list[str],
    years: list[str] | None = None,
    full: bool = False,
    warehouse: bool = True,
    warehouse_tags: dict[str, str] | None = None,
    log: Log = print,
) -> SyncReport:
    """Reference data, then fiscal years and bank data per company, then the warehouse (once)."""
    companies = resolve_companies(pipeline, company_ids)
    report = SyncReport()
    refresh = {REFRESH_TAG: "full" if full else INCREMENTAL}
    by_erp: dict[str, set[str]] = {}
    for company in companies:
        by_erp.setdefault(company.erp, set()).add(company.id)
    failed: set[str] = set()  # companies whose reference run failed: their fiscal years are not tried
    for erp, ids in sorted(by_erp.items()):
        jobs = pipeline.jobs.erps[erp]
        if jobs.reference is not None:
            for tags in _company_ranges(pipeline, erp, ids):
                run = run_job(pipeline, instance, jobs.reference.name, tags, log)
                report.runs.append(run)
                if not run.success:
                    failed |= {i for i in ids if tags[RANGE_START] <= i <= tags[RANGE_END]}
        if years is not None and jobs.fiscal_year is not None and ids - failed:
            # the same years for every company: one run per block of companies and years, not one per company
            chosen_years = chosen_fiscal_years(pipeline, companies[0], years, full)
            log(f"  {erp}: fiscal years {', '.join(chosen_years)} of {', '.join(sorted(ids - failed))}")
            for block in _company_ranges(pipeline, erp, ids - failed):
                for tags in _year_ranges(pipeline, block[RANGE_START], chosen_years, block[RANGE_END]):
                    report.runs.append(run_job(pipeline, instance, jobs.fiscal_year.name, {**tags, **refresh}, log))
    usable = {c.connection_id for c in consents(pipeline.settings, pipeline.config, datetime.now(UTC))
              if c.state in ("ok", "warning")}  # fmt: skip
    for company in companies:
        if company.id in failed:
            report.notes.append(f"{company.id}: its reference data failed (above), so its fiscal years were not read")
            continue
        chosen = chosen_fiscal_years(pipeline, company, years, full)
        fiscal_job = pipeline.jobs.erps[company.erp].fiscal_year
        if not chosen:
            report.notes.append(f"{company.id}: no fiscal year to read (the ERP lists none in the partition range)")
        elif fiscal_job is not None and years is None:
            log(f"  {company.id}: fiscal years {', '.join(chosen)}")
            for tags in _year_ranges(pipeline, company.id, chosen):
                report.runs.append(run_job(pipeline, instance, fiscal_job.name, {**tags, **refresh}, log))
        connections = [b.id for b in company.bank_connections]
        if not connections:
            continue
        lapsed = [b for b in connections if b not in usable]
        if lapsed:
            report.notes.append(
                f"{company.id}: bank data not synced, consent needed for {', '.join(lapsed)} "
                f"(nordledger bank authorize {lapsed[0]})"
            )
            continue
        if pipeline.jobs.bank_accounts is not None:
            tags = {RANGE_START: company.id, RANGE_END: company.id}
            report.runs.append(run_job(pipeline, instance, pipeline.jobs.bank_accounts.name, tags, log))
        if pipeline.jobs.bank_transactions is not None and chosen:
            for tags in _year_ranges(pipeline, company.id, chosen):
                report.runs.append(run_job(pipeline, instance, pipeline.jobs.bank_transactions.name, tags, log))
    if warehouse:
        report.runs.append(run_job(pipeline, instance, pipeline.jobs.warehouse.name, warehouse_tags or {}, log))
    return report
