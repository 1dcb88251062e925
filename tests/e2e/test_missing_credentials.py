"""One company's credential variable unset: the definitions still load, that company's runs fail at once
naming the variable, every other company is extracted, and the credential sensor reports it."""

import dagster as dg
import pytest

from connectors.settings import load_settings
from orchestration.definitions import build_pipeline
from orchestration.runner import range_tags
from orchestration.sensors import build_sensors
from tests.conftest import write_companies

pytestmark = pytest.mark.e2e


def test_a_company_without_its_credentials_fails_alone_and_is_reported(tmp_path, simulator_url, monkeypatch):
    monkeypatch.delenv("AURORA_FENNOA_USER")
    settings = load_settings(
        {
            "NORDLEDGER_COMPANIES_FILE": str(write_companies(tmp_path / "companies.yaml", simulator_url)),
            "NORDLEDGER_DATA_DIR": str(tmp_path / "data"),
        }
    )
    pipeline = build_pipeline(settings)  # loads: a missing variable is a run-time problem of one company
    accounts = pipeline.defs.resolve_asset_graph().get(dg.AssetKey(["raw", "fennoa", "accounts"]))
    assert accounts.partitions_def.get_partition_keys() == ["aurora", "borealis", "cirrus"]

    with dg.DagsterInstance.ephemeral() as instance:
        job = pipeline.defs.resolve_job_def("fennoa_reference_job")
        result = job.execute_in_process(instance=instance, tags=range_tags(job.partitions_def), raise_on_error=False)
        assert not result.success
        errors = [e.event_specific_data.error.message for e in result.all_events if e.is_step_failure]
        assert errors and all("fennoa company 'aurora'" in m and "AURORA_FENNOA_USER (username)" in m for m in errors)
        assert all("sim-aurora-key" not in m for m in errors)
        # the other companies' partitions were written and are recorded as materialized, aurora's are not
        for endpoint in ("accounts", "periods", "vatcodes", "dimensions"):
            key = dg.AssetKey(["raw", "fennoa", endpoint])
            assert set(instance.get_materialized_partitions(key)) == {"borealis", "cirrus"}, endpoint
        assert not (settings.lake_root / "raw/fennoa/accounts/company=aurora").exists()
        assert (settings.lake_root / "raw/fennoa/accounts/company=borealis/part-0.parquet").exists()

        netvisor = pipeline.defs.resolve_job_def("netvisor_reference_job")
        assert netvisor.execute_in_process(instance=instance, tags=range_tags(netvisor.partitions_def)).success

        failure = instance.all_logs(result.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)[0].dagster_event
        context = dg.build_run_status_sensor_context(
            sensor_name="credential_failures",
            dagster_event=failure,
            dagster_instance=instance,
            dagster_run=instance.get_run_by_id(result.run_id),
        ).for_run_failure()
        sensor = {s.name: s for s in build_sensors(settings, pipeline.config, pipeline.jobs)}["credential_failures"]
        [notice] = list(sensor(context))
        assert notice.tags == {"nordledger/notice": "credentials_missing", "nordledger/company": "aurora"}
        message = notice.run_config["ops"]["notify"]["config"]["message"]
        assert "credentials of company aurora are not set" in message and "AURORA_FENNOA_USER" in message
