"""Bank sync, consent expiry, credential alerts, schedules and fiscal-year discovery, on the real
definitions against the simulator (its clock moved through the consent's life)."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg
import duckdb
import httpx
import pyarrow.parquet as pq
import pytest

from assets.extract.incremental import INCREMENTAL, REFRESH_TAG
from connectors.companies import load_companies
from orchestration.bank import authorize
from orchestration.refresh import RANGE_END, RANGE_START, bank_requests, erp_requests
from orchestration.schedules import build_schedules
from orchestration.sensors import build_sensors

pytestmark = pytest.mark.e2e


def automation(pipeline, now=None):
    settings = pipeline["settings"]
    config = load_companies(settings.companies_file)
    jobs = pipeline["pipeline"].jobs
    schedules, sensors = (
        build_schedules(settings, config, jobs, now=now),
        build_sensors(settings, config, jobs, now=now),
    )
    return config, {s.name: s for s in schedules}, {s.name: s for s in sensors}


def set_clock(pipeline, when: datetime | None) -> None:
    httpx.post(f"{pipeline['simulator_url']}/_sim/clock", json={"set": when.isoformat()} if when else {"reset": True})


def now() -> datetime:
    return datetime.now(UTC)


def token_expiry(pipeline, connection: str) -> datetime:
    from connectors.bank import TokenStore

    return TokenStore(pipeline["settings"].secrets_dir / "bank" / f"{connection}.json").load().login_expires


def evaluate(sensor, instance, cursor=None, definitions=None):
    return sensor.evaluate_tick(dg.build_sensor_context(instance=instance, cursor=cursor, definitions=definitions))


def notices(data, kind: str, connection: str) -> list[dg.RunRequest]:
    return [
        r
        for r in data.run_requests
        if r.tags.get("nordledger/notice") == kind and connection in r.run_config["ops"]["notify"]["config"]["message"]
    ]


def test_a_bank_that_drops_a_pending_transaction_no_longer_shows_it(pipeline):
    settings, defs, instance = pipeline["settings"], pipeline["defs"], pipeline["instance"]
    raw = pq.read_table(
        settings.lake_root / "raw/nag/bank_transactions/company=aurora/fiscal_year=2026/part-0.parquet"
    ).to_pylist()
    holds = [t for t in raw if t["transaction_id"].startswith("hold-") and t["state"] == "Reserved"]
    pending = [t for t in raw if not t["transaction_id"].startswith("hold-") and t["state"] == "Reserved"]
    assert holds and pending
    set_clock(pipeline, now() + timedelta(days=6))  # six bank days later
    try:
        job = defs.resolve_job_def("bank_transactions_job")
        assert job.execute_in_process(
            instance=instance, partition_key=dg.MultiPartitionKey({"company": "aurora", "fiscal_year": "2026"})
        ).success
        assert defs.resolve_job_def("warehouse_job").execute_in_process(instance=instance).success
    finally:
        set_clock(pipeline, None)
    con = duckdb.connect(str(settings.published_db), read_only=True)
    shown = dict(
        con.execute(
            "select transaction_id, state from marts.fct_bank_transactions where company_id = 'aurora'"
        ).fetchall()
    )
    assert not {h["transaction_id"] for h in holds} & set(shown)  # the dropped holds are gone
    assert all(shown[t["transaction_id"]] == "Booked" for t in pending)  # pending ones were booked
    booked = sum(1 for s in shown.values() if s == "Booked")
    assert booked > 1000  # the older history was kept, not re-fetched away


def test_bank_balances_agree_with_the_gl_cash_accounts(pipeline):
    con = duckdb.connect(str(pipeline["settings"].published_db), read_only=True)
    compared = con.execute("""
        select count(*), count(*) filter (where b.balance_after <> g.closing_balance)
        from marts.dim_bank_account as a
        join marts.fct_bank_transactions as b using (company_id, account_id)
        join marts.fct_account_balances_monthly as g
            on g.company_id = a.company_id and g.account_number = a.gl_cash_account and g.month_end = b.booking_date
        where b.is_booked and b.booking_date = (select max(booking_date) from marts.fct_bank_transactions as x
                                                 where x.account_id = b.account_id and x.is_booked
                                                 and x.booking_date <= g.month_end)
          and b.transaction_id = (select max(transaction_id) from marts.fct_bank_transactions as y
                                  where y.account_id = b.account_id and y.booking_date = b.booking_date and y.is_booked)
    """).fetchone()
    assert compared[0] > 10 and compared[1] == 0
    assert con.execute("select count(*) from marts.dim_bank_account").fetchone()[0] == 4


def test_consent_warning_stop_and_gap_filling_sync_after_reauthorization(pipeline):
    instance = pipeline["instance"]
    expires = token_expiry(pipeline, "aurora_bank")
    assert abs(expires - (now() + timedelta(days=180))) < timedelta(minutes=30)  # as the aggregator reported it

    _, _, sensors = automation(pipeline, now=lambda: expires - timedelta(days=15))
    quiet = evaluate(sensors["bank_consent_expiry"], instance)
    assert notices(quiet, "consent_expiring", "aurora_bank") == []

    _, _, sensors = automation(pipeline, now=lambda: expires - timedelta(days=14) + timedelta(hours=1))
    warned = evaluate(sensors["bank_consent_expiry"], instance, quiet.cursor)
    [warning] = notices(warned, "consent_expiring", "aurora_bank")
    message = warning.run_config["ops"]["notify"]["config"]["message"]
    assert f"expires {expires:%Y-%m-%d}" in message
    assert "nordledger bank authorize aurora_bank" in message and warning.tags["nordledger/company"] == "aurora"

    after = expires + timedelta(minutes=1)
    config, _, sensors = automation(pipeline, now=lambda: after)
    stopped = evaluate(sensors["bank_consent_expiry"], instance, warned.cursor)
    assert len(notices(stopped, "consent_expired", "aurora_bank")) == 1
    assert "aurora" not in {
        r.tags["nordledger/company"]
        for r in bank_requests(
            pipeline["settings"], config, instance, pipeline["pipeline"].jobs.bank_transactions, "tick", after
        )
    }

    set_clock(pipeline, after + timedelta(days=1))
    try:
        authorize("aurora_bank", timeout=30, auto=True, out=lambda *_: None)
    finally:
        set_clock(pipeline, None)
    renewed = token_expiry(pipeline, "aurora_bank")
    assert renewed > after
    _, _, sensors = automation(pipeline, now=lambda: after + timedelta(days=1))
    refilled = evaluate(sensors["bank_consent_expiry"], instance, stopped.cursor)
    [refill] = [r for r in refilled.run_requests if r.job_name == "bank_transactions_job"]
    assert refill.tags["nordledger/company"] == "aurora" and "fill the gap" in refill.tags["nordledger/reason"]
    assert notices(refilled, "consent_expiring", "aurora_bank") == []


def test_schedule_ticks_request_exactly_the_open_fiscal_years(pipeline):
    _config, schedules, _ = automation(pipeline, now=now)
    tick = datetime(2026, 11, 23, 2, 0, tzinfo=ZoneInfo("Europe/Helsinki"))
    requested = {}
    for erp in ("fennoa", "netvisor", "procountor"):
        data = schedules[f"{erp}_fiscal_year_nightly"].evaluate_tick(
            dg.build_schedule_context(instance=pipeline["instance"], scheduled_execution_time=tick)
        )
        for r in data.run_requests:
            start, end = r.tags[RANGE_START].split("|"), r.tags[RANGE_END].split("|")
            requested[start[0]] = (start[1], end[1])
            assert r.tags[REFRESH_TAG] == INCREMENTAL  # a Monday: changes only
        sunday = schedules[f"{erp}_fiscal_year_nightly"].evaluate_tick(
            dg.build_schedule_context(instance=pipeline["instance"], scheduled_execution_time=tick - timedelta(days=1))
        )
        assert sunday.run_requests and {r.tags[REFRESH_TAG] for r in sunday.run_requests} == {"full"}
        reference = schedules[f"{erp}_reference_nightly"].evaluate_tick(
            dg.build_schedule_context(instance=pipeline["instance"], scheduled_execution_time=tick)
        )
        assert len(reference.run_requests) == 1
    con = duckdb.connect(str(pipeline["settings"].published_db), read_only=True)
    expected = {
        c: (str(a), str(b))
        for c, a, b in con.execute(
            "select company_id, min(fiscal_year), max(fiscal_year) from marts.dim_fiscal_period where not is_closed "
            "group by all"
        ).fetchall()
    }
    assert (
        requested
        == expected
        == {
            "aurora": ("2026", "2026"),
            "borealis": ("2026", "2027"),
            "cirrus": ("2025", "2026"),
            "dahlia": ("2026", "2026"),
            "eira": ("2026", "2027"),
        }
    )
    bank = schedules["bank_sync"].evaluate_tick(
        dg.build_schedule_context(instance=pipeline["instance"], scheduled_execution_time=tick)
    )
    # both consents hold at this tick; each company's bank sync covers its open fiscal years
    assert {
        r.tags["nordledger/company"]: (r.tags[RANGE_START].split("|")[1], r.tags[RANGE_END].split("|")[1])
        for r in bank.run_requests
    } == {"aurora": ("2026", "2026"), "borealis": ("2026", "2027")}


def test_an_authentication_failure_alerts_once_per_company_and_pauses_it(pipeline, monkeypatch):
    instance, defs, settings = pipeline["instance"], pipeline["defs"], pipeline["settings"]
    good = __import__("os").environ["CIRRUS_FENNOA_API_KEY"]
    monkeypatch.setenv("CIRRUS_FENNOA_API_KEY", "rejected-key")
    result = defs.resolve_job_def("fennoa_reference_job").execute_in_process(
        instance=instance, partition_key="cirrus", raise_on_error=False
    )
    assert not result.success
    failures = instance.all_logs(result.run_id, of_type=dg.DagsterEventType.STEP_FAILURE)
    assert len(failures) == 4  # every reference asset failed for the same company
    run_failure = instance.all_logs(result.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)[0].dagster_event
    config, _, sensors = automation(pipeline)
    context = dg.build_run_status_sensor_context(
        sensor_name="credential_failures",
        dagster_event=run_failure,
        dagster_instance=instance,
        dagster_run=instance.get_run_by_id(result.run_id),
    ).for_run_failure()
    alerts = list(sensors["credential_failures"](context))
    assert len(alerts) == 1 and alerts[0].tags["nordledger/company"] == "cirrus"
    assert "rejected-key" not in str(alerts[0].run_config)
    assert list(sensors["credential_failures"](context)) == []  # no second alert for the same credentials
    assert "cirrus" not in {
        r.tags.get("nordledger/company")
        for r in erp_requests(settings, config, instance, pipeline["pipeline"].jobs.erps["fennoa"], "t")
    }
    monkeypatch.setenv("CIRRUS_FENNOA_API_KEY", good)  # credentials changed: scheduling resumes
    assert "cirrus" in {
        r.tags.get("nordledger/company")
        for r in erp_requests(settings, config, instance, pipeline["pipeline"].jobs.erps["fennoa"], "t")
    }


def test_a_fiscal_year_the_erp_opens_becomes_a_materialized_partition(pipeline):
    _, _, sensors = automation(pipeline)
    with dg.DagsterInstance.ephemeral() as fresh:
        data = evaluate(sensors["fiscal_year_discovery"], fresh, definitions=pipeline["defs"])
        keys = {
            (r.partition_key.keys_by_dimension["company"], r.partition_key.keys_by_dimension["fiscal_year"])
            for r in data.run_requests
        }
        assert ("cirrus", "2025") in keys and ("borealis", "2027") in keys and len(keys) == 16
        request = next(
            r
            for r in data.run_requests
            if r.partition_key.keys_by_dimension["company"] == "dahlia"
            and r.partition_key.keys_by_dimension["fiscal_year"] == "2026"
        )
        job = pipeline["defs"].resolve_job_def(request.job_name)
        assert job.execute_in_process(instance=fresh, partition_key=request.partition_key).success
        again = {
            (r.partition_key.keys_by_dimension["company"], r.partition_key.keys_by_dimension["fiscal_year"])
            for r in evaluate(sensors["fiscal_year_discovery"], fresh, definitions=pipeline["defs"]).run_requests
        }
        assert again == keys - {("dahlia", "2026")}


def test_a_lapsed_consent_fails_the_sync_and_keeps_the_stored_accounts(pipeline):
    settings, defs = pipeline["settings"], pipeline["defs"]
    stored = settings.lake_root / "raw/nag/bank_accounts/company=borealis/part-0.parquet"
    tokens = settings.secrets_dir / "bank" / "borealis_bank.json"
    before, saved = stored.read_bytes(), tokens.read_bytes()
    tokens.unlink()  # as if the consent had never been given
    try:
        with dg.DagsterInstance.ephemeral() as instance:
            result = defs.resolve_job_def("bank_accounts_job").execute_in_process(
                instance=instance, partition_key="borealis", raise_on_error=False
            )
    finally:
        tokens.write_bytes(saved)
        tokens.chmod(0o600)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "nordledger bank authorize borealis_bank" in failure.event_specific_data.error.message
    assert stored.read_bytes() == before
