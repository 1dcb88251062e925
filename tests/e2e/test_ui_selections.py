"""What a person launches from the UI without partition keys: `sync_job` by company, or by ERP and
fiscal year; the warehouse rebuilt once new extracts land; the bank consent as an asset check. The
real definitions on the session's instance, against the simulator."""

from datetime import timedelta

import dagster as dg
import pytest

from orchestration.consent_check import BANK_ACCOUNTS, CHECK_NAME
from orchestration.refresh import RANGE_END, RANGE_START
from orchestration.sensors import PUBLISHED, build_sensors

pytestmark = pytest.mark.e2e


def _sensor(pipeline, name: str, now=None) -> dg.SensorDefinition:
    built = pipeline["pipeline"]
    return {s.name: s for s in build_sensors(built.settings, built.config, built.jobs, now=now)}[name]


def _launch(pipeline, **config) -> dg.ExecuteInProcessResult:
    job = pipeline["defs"].resolve_job_def("sync_job")
    return job.execute_in_process(
        instance=pipeline["instance"],
        run_config={"ops": {"sync_companies": {"config": config}}},
        raise_on_error=False,
    )


def _children(instance: dg.DagsterInstance, since: int) -> list[dg.DagsterRun]:
    return [r for r in reversed(instance.get_runs()) if r.job_name != "sync_job"][since:]


def test_sync_job_runs_a_company_or_an_erp_year_and_the_warehouse_follows(pipeline):
    instance = pipeline["instance"]
    # published again (not rebuilt): the session's earlier tests on this instance may have extracted since
    warehouse_job = pipeline["defs"].resolve_job_def("warehouse_job")
    assert warehouse_job.execute_in_process(instance=instance, asset_selection=[PUBLISHED]).success
    warehouse = _sensor(pipeline, "warehouse_after_extracts")
    idle = warehouse.evaluate_tick(dg.build_sensor_context(instance=instance))
    assert idle.run_requests == [] and "newer than every extract" in idle.skip_message

    before = len(_children(instance, 0))
    one = _launch(pipeline, companies=["dahlia"], fiscal_years="2025", warehouse=False)
    assert one.success
    runs = _children(instance, before)
    assert [(r.job_name, r.tags.get(RANGE_START), r.tags.get(RANGE_END)) for r in runs] == [
        ("netvisor_reference_job", "dahlia", "dahlia"),
        ("netvisor_fiscal_year_job", "dahlia|2025", "dahlia|2025"),
    ]
    assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
    [output] = [e for e in one.all_node_events if e.event_type == dg.DagsterEventType.STEP_OUTPUT]
    metadata = {k: v.value for k, v in output.event_specific_data.metadata.items()}
    assert metadata["runs"] == 2 and metadata["rows"] > 1000 and metadata["requests"] > 10

    before = len(_children(instance, 0))
    year = _launch(pipeline, erps=["fennoa"], fiscal_years="2025", warehouse=False)
    assert year.success
    fiscal = [r for r in _children(instance, before) if r.job_name == "fennoa_fiscal_year_job"]
    assert [(r.tags[RANGE_START], r.tags[RANGE_END]) for r in fiscal] == [("aurora|2025", "cirrus|2025")]

    running = dg.DagsterRun(job_name="sync_job", run_id="0" * 36, status=dg.DagsterRunStatus.STARTED)
    instance.add_run(running)  # a sync still going builds the warehouse itself: the sensor waits
    try:
        waiting = warehouse.evaluate_tick(dg.build_sensor_context(instance=instance))
        assert waiting.run_requests == [] and waiting.skip_message == "waiting for runs to finish: sync_job"
    finally:
        instance.delete_run(running.run_id)

    due = warehouse.evaluate_tick(dg.build_sensor_context(instance=instance))
    [request] = due.run_requests
    assert request.job_name in (None, "warehouse_job") and request.run_key.startswith("warehouse:")


def test_sync_job_refuses_an_unknown_company_naming_the_known_ones(pipeline):
    result = _launch(pipeline, companies=["nosuch"])
    assert not result.success
    [failure] = [e for e in result.all_node_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    message = failure.event_specific_data.error.message
    assert "nosuch: not in" in message and "aurora" in message and "eira" in message


def test_the_consent_sensor_reports_the_asset_check_without_a_run(pipeline):
    from tests.e2e.test_bank_and_automation import token_expiry

    expires = token_expiry(pipeline, "aurora_bank")
    inside = _sensor(pipeline, "bank_consent_expiry", now=lambda: expires - timedelta(days=3))
    data = inside.evaluate_tick(dg.build_sensor_context(instance=pipeline["instance"]))
    [check] = [e for e in data.asset_events if isinstance(e, dg.AssetCheckEvaluation)]
    assert (check.asset_key, check.check_name) == (BANK_ACCOUNTS, CHECK_NAME)
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR  # borealis_bank's 10 days are over
    assert "aurora_bank (aurora): renew soon" in check.description
    assert "nordledger bank authorize aurora_bank" in check.metadata["consents"].value
