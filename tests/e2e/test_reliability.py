"""Faults, kills and secrets: the pipeline loses nothing, duplicates nothing and leaks nothing."""

import hashlib
import os
import signal
import subprocess
import sys
import time
import uuid

import dagster as dg
import duckdb
import httpx
import pyarrow.parquet as pq
import pytest
import yaml

from tests.conftest import ROOT, write_companies

pytestmark = pytest.mark.e2e

SUBSET = {"aurora", "dahlia", "eira"}  # one company per ERP, plus aurora's bank connection


def subset_companies(path, simulator_url, companies=SUBSET, first_year=2026, last_year=2027):
    write_companies(path, simulator_url, first_year=first_year, last_year=last_year)
    config = yaml.safe_load(path.read_text())
    config["companies"] = [c for c in config["companies"] if c["id"] in companies]
    path.write_text(yaml.safe_dump(config))
    return path


def run_pipeline(tmp, simulator_url, monkeypatch, companies=SUBSET, instance=None, warehouse=True):
    from connectors.settings import load_settings
    from orchestration.definitions import build_pipeline
    from orchestration.demo import authorize_simulated_banks
    from orchestration.runner import materialize_all, range_tags

    monkeypatch.setenv(
        "NORDLEDGER_COMPANIES_FILE", str(subset_companies(tmp / "companies.yaml", simulator_url, companies))
    )
    monkeypatch.setenv("NORDLEDGER_DATA_DIR", str(tmp / "data"))
    monkeypatch.setenv("NORDLEDGER_HTTP_TIMEOUT", "1")  # below the simulator's slow answers
    monkeypatch.setenv("NORDLEDGER_HTTP_BASE_DELAY", "0.05")
    monkeypatch.setenv("NORDLEDGER_HTTP_MAX_ATTEMPTS", "8")
    settings = load_settings()
    built = build_pipeline(settings)
    authorize_simulated_banks(settings, log=lambda *_: None)

    def run(instance):
        if warehouse:
            return materialize_all(built, instance, log=lambda *_: None)
        jobs = [built.defs.resolve_job_def(h.name) for h in [*built.jobs.extract, *built.jobs.bank]]
        return [job.execute_in_process(instance=instance, tags=range_tags(job.partitions_def)) for job in jobs]

    if instance is not None:
        return settings, built.defs, run(instance)
    with dg.DagsterInstance.ephemeral() as own:
        return settings, built.defs, run(own)


def marts(db) -> dict[str, list]:
    """Every mart's rows (the S3 lake's reliability tests, tests/scale, compare them)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        names = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = 'marts' order by 1"
            ).fetchall()
        ]
        return {n: sorted(map(repr, con.execute(f'select * from marts."{n}"').fetchall())) for n in names}
    finally:
        con.close()


def digests(lake) -> dict[str, str]:
    return {
        str(p.relative_to(lake)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(lake.rglob("*.parquet"))
    }


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory, simulator_url):
    mp = pytest.MonkeyPatch()
    httpx.delete(f"{simulator_url}/_sim/faults")
    httpx.post(f"{simulator_url}/_sim/clock", json={"reset": True})
    # the lake only: faults and kills reach the extracts, and the warehouse is built from the lake alone, so
    # a lake equal byte for byte to this one builds the same marts
    settings, defs, results = run_pipeline(tmp_path_factory.mktemp("clean"), simulator_url, mp, warehouse=False)
    assert all(r.success for r in results)
    yield settings, defs
    mp.undo()


def test_faults_at_a_realistic_rate_leave_the_lake_identical(clean_run, tmp_path, simulator_url, monkeypatch):
    clean, _ = clean_run
    expected = digests(clean.lake_root)
    httpx.post(f"{simulator_url}/_sim/faults", json={"mode": {"rate": 0.12, "seed": 7, "slow_seconds": 1.5}})
    try:
        settings, _, results = run_pipeline(tmp_path, simulator_url, monkeypatch, warehouse=False)
        injected = httpx.get(f"{simulator_url}/_sim/faults").json()["injected"]
    finally:
        httpx.delete(f"{simulator_url}/_sim/faults")
    assert all(r.success for r in results)
    kinds = {i["kind"] for i in injected}
    assert sum(i["count"] for i in injected) >= 10 and len(kinds) >= 5, injected
    # every partition, byte for byte, so the marts built from them are the clean run's too
    assert len(expected) > 20 and digests(settings.lake_root) == expected


def test_a_fault_that_never_clears_fails_cleanly_and_keeps_stored_partitions(clean_run, simulator_url):
    settings, defs = clean_run
    before = digests(settings.lake_root)
    httpx.post(
        f"{simulator_url}/_sim/faults", json={"mode": {"rate": 1.0, "seed": 1, "kinds": ["503"], "apis": ["fennoa"]}}
    )
    try:
        job = defs.resolve_job_def("fennoa_fiscal_year_job")
        with dg.DagsterInstance.ephemeral() as instance:
            result = job.execute_in_process(
                instance=instance,
                raise_on_error=False,
                partition_key=dg.MultiPartitionKey({"company": "aurora", "fiscal_year": "2026"}),
            )
    finally:
        httpx.delete(f"{simulator_url}/_sim/faults")
    assert not result.success
    messages = [e.event_specific_data.error.message for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert any(
        "fennoa company 'aurora', endpoint '" in m and "gave up after 8 attempts; last error: HTTP 503" in m
        for m in messages
    ), messages
    assert digests(settings.lake_root) == before


def kill_when(process, ready, what: str, simulator_url: str, timeout: float, settle: float) -> None:
    """SIGKILL `process` `settle` seconds after `ready()` holds; the simulator's faults are cleared either way."""
    try:
        deadline = time.monotonic() + timeout
        while not ready():
            assert process.poll() is None and time.monotonic() < deadline, what
            time.sleep(0.05)
        time.sleep(settle)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        process.kill()
        httpx.delete(f"{simulator_url}/_sim/faults")


KILLED_EXTRACT = """
import sys, dagster as dg
from orchestration.definitions import build_definitions
job = build_definitions().resolve_job_def("fennoa_fiscal_year_job")
with dg.instance_for_test() as instance:
    job.execute_in_process(instance=instance, partition_key=dg.MultiPartitionKey({"company": "aurora", "fiscal_year": "2026"}))
"""


def test_sigkill_while_writing_a_partition_leaves_no_partial_file_and_a_rerun_heals(clean_run, simulator_url):
    settings, defs = clean_run
    partition = settings.lake_root / "raw/fennoa/ledger/company=aurora/fiscal_year=2026"
    before = digests(settings.lake_root)
    # every ledger page answers slowly, so the write is still going when the process is killed
    httpx.post(f"{simulator_url}/_sim/faults", json={"api": "fennoa", "status": 200, "delay": 0.4, "count": 60})
    process = subprocess.Popen(
        [sys.executable, "-c", KILLED_EXTRACT],
        env=dict(os.environ),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def writing():
        return list(partition.glob(".tmp-*"))

    kill_when(process, writing, "the extract never started writing", simulator_url, timeout=60, settle=0.3)
    assert digests(settings.lake_root) == before  # readers never see half a partition
    assert list(partition.glob(".tmp-*"))  # only a hidden leftover, which no reader's glob matches
    job = defs.resolve_job_def("fennoa_fiscal_year_job")
    with dg.DagsterInstance.ephemeral() as instance:
        assert job.execute_in_process(
            instance=instance, partition_key=dg.MultiPartitionKey({"company": "aurora", "fiscal_year": "2026"})
        ).success
    assert not list(partition.glob(".tmp-*"))
    assert digests(settings.lake_root) == before  # healed: every partition as the clean run wrote it


KILLED_RANGE = """
import sys, dagster as dg
from orchestration.definitions import build_definitions
from orchestration.runner import range_tags
job = build_definitions().resolve_job_def("fennoa_fiscal_year_job")
with dg.DagsterInstance.from_config(sys.argv[1]) as instance:
    job.execute_in_process(instance=instance, run_id=sys.argv[2], tags=range_tags(job.partitions_def))
"""


def test_a_run_killed_between_partitions_keeps_the_materializations_of_those_it_wrote(simulator_url, tmp_path):
    # aurora is on Fennoa, with fiscal years 2024-2026
    companies = subset_companies(tmp_path / "companies.yaml", simulator_url, {"aurora"}, 2024, 2026)
    data, home = tmp_path / "data", tmp_path / "home"
    home.mkdir()
    run_id = str(uuid.uuid4())
    # every Fennoa answer is slow, so the kill lands while a step is between fiscal years
    httpx.post(f"{simulator_url}/_sim/faults", json={"api": "fennoa", "status": 200, "delay": 0.3, "count": 400})
    process = subprocess.Popen(
        [sys.executable, "-c", KILLED_RANGE, str(home), run_id],
        env={**os.environ, "NORDLEDGER_COMPANIES_FILE": str(companies), "NORDLEDGER_DATA_DIR": str(data)},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    with dg.DagsterInstance.from_config(str(home)) as instance:

        def materialized():
            return instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION).records

        # settle: long enough for a step's materializations held to its end to be stored, far shorter than
        # the next fiscal year's slow answers (account_balances asks once per account, 0.3 s each)
        kill_when(process, materialized, "no partition was materialized", simulator_url, timeout=120, settle=0.5)
        recorded = [r.event_log_entry.asset_materialization for r in materialized()]
    by_asset: dict[str, set[str]] = {}
    for m in recorded:
        by_asset.setdefault(m.asset_key.to_user_string(), set()).add(str(m.partition))
        path = m.metadata["path"].value
        assert path.startswith(str(data / "lake"))
        assert pq.ParquetFile(path).metadata.num_rows == m.metadata["dagster/row_count"].value
    # the killed step had written some of aurora's three fiscal years, and those are recorded
    assert any(0 < len(partitions) < 3 for partitions in by_asset.values()), by_asset


def test_no_secret_reaches_logs_event_log_parquet_or_duckdb(tmp_path, monkeypatch, capfd):
    from simulator.server import build_app, serve_in_thread

    secrets = {}
    for name in (
        "AURORA_FENNOA_USER",
        "AURORA_FENNOA_API_KEY",
        "DAHLIA_NETVISOR_CUSTOMER_ID",
        "DAHLIA_NETVISOR_CUSTOMER_KEY",
        "NETVISOR_PARTNER_ID",
        "NETVISOR_PARTNER_KEY",
        "PROCOUNTOR_CLIENT_ID",
        "PROCOUNTOR_CLIENT_SECRET",
        "EIRA_PROCOUNTOR_API_KEY",
        "NAG_CLIENT_ID",
        "NAG_CLIENT_SECRET",
    ):
        secrets[name] = f"zz{hashlib.sha256(name.encode()).hexdigest()[:20]}qq"
        monkeypatch.setenv(name, secrets[name])
    app = build_app()  # the simulator accepts exactly these distinctive credentials
    with serve_in_thread(app=app) as url:
        with dg.DagsterInstance.ephemeral() as instance:
            settings, _, results = run_pipeline(tmp_path, url, monkeypatch, instance=instance)
            assert all(r.success for r in results)
            events = "\n".join(str(e) for run in instance.get_runs() for e in instance.all_logs(run.run_id))
    sims = app.state.simulators
    derived = {
        "netvisor MAC": sims["netvisor"].macs_seen,
        "procountor token": list(sims["procountor"].tokens),
        "nag access token": list(sims["nag"].access),
        "nag login token": list(sims["nag"].logins),
    }
    assert all(derived.values()), "the run used every kind of derived secret"
    needles = {**{k: [v] for k, v in secrets.items()}, **derived}
    out, err = capfd.readouterr()
    haystacks = {"stdout/stderr logs": out + err, "Dagster event log": events}
    for path in settings.lake_root.rglob("*.parquet"):
        haystacks[str(path)] = repr(pq.read_table(path).to_pylist())
    for db in (settings.build_db, settings.published_db):
        con = duckdb.connect(str(db), read_only=True)
        tables = con.execute("select table_schema, table_name from information_schema.tables").fetchall()
        haystacks[str(db)] = "\n".join(repr(con.execute(f'select * from "{s}"."{t}"').fetchall()) for s, t in tables)
        con.close()
    leaks = [
        (what, where)
        for what, values in needles.items()
        for value in values
        for where, text in haystacks.items()
        if value and value in text
    ]
    assert leaks == []
    assert oct((settings.secrets_dir / "bank" / "aurora_bank.json").stat().st_mode)[-3:] == "600"
