"""The refresh decisions, pure: which fiscal years a nightly run asks for, pauses, consent states."""

from datetime import UTC, date, datetime, timedelta

import dagster as dg
import pyarrow as pa
import pytest

from assets.lake import partition_dir, write_partition
from connectors import schemas
from connectors.companies import load_companies
from connectors.settings import load_settings
from orchestration.jobs import ErpJobs
from orchestration.refresh import (
    RANGE_END,
    RANGE_START,
    consent_state,
    contiguous_blocks,
    credential_fingerprint,
    erp_requests,
    open_fiscal_year_keys,
    pause,
)
from tests.conftest import ROOT

JOBS = ErpJobs("fennoa", dg.define_asset_job("fennoa_reference_job"), dg.define_asset_job("fennoa_fiscal_year_job"))


@pytest.fixture
def lake(tmp_path):
    settings = load_settings({"NORDLEDGER_DATA_DIR": str(tmp_path)})
    config = load_companies(ROOT / "companies.yaml", require_env=False)
    years = [(2025, True), (2026, False), (2027, False), (2031, False)]  # 2031: beyond the configured keys
    for company in ("aurora", "borealis"):
        rows = [
            {"company_id": company, "period_id": f"p{y}", "start_date": date(y, 1, 1), "end_date": date(y, 12, 31),
             "fiscal_year": y, "is_locked": locked}
            for y, locked in years
        ]  # fmt: skip
        directory = partition_dir(settings.lake_root, "fennoa", "periods", company, None)
        write_partition(directory, schemas.periods(), [pa.RecordBatch.from_pylist(rows, schema=schemas.periods())])
    return settings, config


def test_open_fiscal_years_are_the_unlocked_ones_within_the_configured_keys(lake):
    settings, config = lake
    assert open_fiscal_year_keys(settings, config, config.by_id["aurora"]) == ["2026", "2027"]
    assert open_fiscal_year_keys(settings, config, config.by_id["cirrus"]) == []  # nothing extracted yet


def test_a_nightly_run_asks_for_each_companys_open_years_and_leaves_paused_ones_out(lake):
    settings, config = lake
    with dg.DagsterInstance.ephemeral() as instance:
        requests = erp_requests(settings, config, instance, JOBS, "night")
        by_job = {(r.job_name, r.tags.get("nordledger/company")): r for r in requests}
        aurora = by_job["fennoa_fiscal_year_job", "aurora"]
        assert (aurora.tags[RANGE_START], aurora.tags[RANGE_END]) == ("aurora|2026", "aurora|2027")
        assert aurora.tags["nordledger/refresh"] == "incremental"
        assert ("fennoa_fiscal_year_job", "cirrus") not in by_job
        reference = by_job["fennoa_reference_job", None]
        assert (reference.tags[RANGE_START], reference.tags[RANGE_END]) == ("aurora", "cirrus")

        pause(instance, "borealis", credential_fingerprint(settings, config.by_id["borealis"]), "rejected")
        paused = erp_requests(settings, config, instance, JOBS, "night2", incremental=False)
        companies = {r.tags.get("nordledger/company") for r in paused if r.job_name == "fennoa_fiscal_year_job"}
        assert companies == {"aurora"}
        assert all(r.tags["nordledger/refresh"] == "full" for r in paused if r.job_name == "fennoa_fiscal_year_job")
        # reference data too: no key range covers the paused company between the other two
        ranges = [(r.tags[RANGE_START], r.tags[RANGE_END]) for r in paused if r.job_name == "fennoa_reference_job"]
        assert ranges == [("aurora", "aurora"), ("cirrus", "cirrus")]


def test_contiguous_blocks_split_around_what_is_left_out():
    assert contiguous_blocks(["a", "b", "c", "d", "e"], {"a", "b", "d"}) == [["a", "b"], ["d"]]
    assert contiguous_blocks(["a", "b"], set()) == []
    assert contiguous_blocks(["a", "b"], {"a", "b"}) == [["a", "b"]]


def test_consent_states_at_their_boundaries():
    expires = datetime(2026, 12, 31, tzinfo=UTC)
    assert consent_state(None, expires, 14) == "missing"
    assert consent_state(expires, expires - timedelta(days=14, seconds=1), 14) == "ok"
    assert consent_state(expires, expires - timedelta(days=14), 14) == "warning"
    assert consent_state(expires, expires, 14) == "expired"


def test_a_run_worker_is_gone_when_its_pid_is_free_or_belongs_to_a_later_process():
    import os
    import subprocess
    import sys
    import time

    from orchestration.recovery import worker_gone

    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    assert worker_gone(int(finished.stdout), time.time())  # no such process any more
    assert not worker_gone(os.getpid(), time.time())  # this process, reported after it started
    assert worker_gone(os.getpid(), time.time() - 365 * 86400)  # the pid was reported long before it started
