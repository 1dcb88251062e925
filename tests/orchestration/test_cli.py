"""The `nordledger` command without a network: its help reads as a guide, the check's verdicts, the
years a sync takes, the archive of a removed company, the environment it prepares, the port guard."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pytest
import yaml
from click.testing import CliRunner

from assets.lake import PART, partition_dir, write_partition
from assets.resources import MissingCredentialError
from connectors.companies import parse_companies
from connectors.errors import AuthenticationError, BadResponseError, MissingRightError, TransientError
from orchestration.cli import main, prepare_environment, read_env_file
from orchestration.connection_check import BAD_CREDENTIALS, MISSING, MISSING_RIGHT, UNREACHABLE, classify
from orchestration.devserver import PortTakenError, our_simulator_running, port_holder
from orchestration.removal import RemovalError, remove, stale
from orchestration.sync import SyncError, parse_years
from tests.conftest import ROOT


@pytest.fixture(autouse=True)
def _restored_environment(monkeypatch):
    """The command sets DAGSTER_HOME and the companies file in the environment, as make does: undone after each test."""
    for name in ("DAGSTER_HOME", "NORDLEDGER_COMPANIES_FILE", "MY_KEY", "MY_USER", "ALREADY"):
        monkeypatch.setenv(name, "-")  # recorded, so the teardown restores what was there before
        monkeypatch.delenv(name)


def _config(*companies: dict):
    return parse_companies({"fiscal_years": {"first": 2024, "last": 2027}, "companies": list(companies)}, "test.yaml")


ACME = {
    "id": "acme",
    "name": "Acme Oy",
    "business_id": "4567890-7",
    "erp": "fennoa",
    "credentials": {"username": "ACME_USER", "api_key": "ACME_KEY"},
}
NETVISOR = {
    "id": "nova",
    "name": "Nova Oy",
    "business_id": "2345678-0",
    "erp": "netvisor",
    "credentials": {"customer_id": "NOVA_ID", "customer_key": "NOVA_KEY", "partner_id": "P_ID", "partner_key": "P_KEY"},
}


@pytest.mark.parametrize("command", [[], ["companies"], ["check"], ["sync"], ["remove"], ["demo"], ["dev"], ["bank"]])
def test_every_command_has_help(command):
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage: " in result.output


def test_the_main_help_walks_through_connecting_a_company():
    out = CliRunner().invoke(main, ["--help"]).output
    steps = ["companies.yaml", "nordledger check", "nordledger sync", "nordledger remove", "DAGSTER_HOME"]
    assert all(step in out for step in steps), out


def test_the_console_script_is_declared():
    import tomllib

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["nordledger"] == "orchestration.cli:main"
    result = subprocess.run(
        [sys.executable, "-m", "orchestration.cli", "check", "--help"], capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 0 and "missing right" in result.stdout


# -- check -------------------------------------------------------------------------------------------------


def test_a_refusal_before_authenticating_is_the_credentials_naming_their_fields():
    company = _config(ACME).by_id["acme"]
    error = AuthenticationError("fennoa", "acme", "periods", "authentication failed (HTTP 401)")
    status, detail = classify(company, error, authenticated=False)
    assert status == BAD_CREDENTIALS
    assert "username (ACME_USER)" in detail and "api_key (ACME_KEY)" in detail and "endpoint 'periods'" in detail


def test_a_token_endpoint_refusal_is_the_credentials_too():
    company = _config(ACME).by_id["acme"]
    error = BadResponseError("fennoa", "acme", "oauth/token", "HTTP 400: invalid_client")
    assert classify(company, error, authenticated=False)[0] == BAD_CREDENTIALS


def test_fields_the_erp_names_are_the_ones_to_check():
    company = _config(NETVISOR).by_id["nova"]
    cause = "authentication failed: check the credentials customer_id and customer_key"
    status, detail = classify(company, AuthenticationError("netvisor", "nova", "accountlist", cause), False)
    assert status == BAD_CREDENTIALS
    assert "customer_id (NOVA_ID), customer_key (NOVA_KEY);" in detail and "partner_key (P_KEY)" not in detail


def test_a_refusal_after_authenticating_is_a_missing_right_naming_the_resource():
    company = _config(NETVISOR).by_id["nova"]
    error = AuthenticationError("netvisor", "nova", "accountingledger", "authentication failed (HTTP 403)")
    status, detail = classify(company, error, authenticated=True)
    assert status == MISSING_RIGHT and "'accountingledger'" in detail and "Netvisor" in detail


def test_a_403_is_a_missing_right_even_on_the_first_call():
    company = _config(NETVISOR).by_id["nova"]
    error = MissingRightError("netvisor", "nova", "accountingperiodlist", "access refused (HTTP 403)")
    status, detail = classify(company, error, authenticated=False)
    assert status == MISSING_RIGHT and "'accountingperiodlist'" in detail


def test_unreachable_and_missing_variables():
    company = _config(ACME).by_id["acme"]
    gone = TransientError("fennoa", "acme", "periods", "gave up after 2 attempts; last error: network error")
    status, detail = classify(company, gone, authenticated=False)
    assert status == UNREACHABLE and company.spec.default_base_url in detail
    unset = MissingCredentialError("fennoa", "acme", "credentials", "environment variable ACME_KEY is not set")
    assert classify(company, unset, authenticated=False)[0] == MISSING


def test_check_names_an_unknown_company():
    result = CliRunner().invoke(main, ["check", "nosuchco"])
    assert result.exit_code != 0 and "nosuchco" in result.output and "aurora" in result.output


# -- sync --------------------------------------------------------------------------------------------------


def test_fiscal_years_are_given_as_ranges_or_lists():
    assert parse_years("2024..2026") == ["2024", "2025", "2026"]
    assert parse_years("2026,2024") == ["2024", "2026"]
    assert parse_years("2025") == ["2025"]
    for bad in ("2026..2024", "twenty", "2024..x"):
        with pytest.raises(SyncError):
            parse_years(bad)


# -- remove ------------------------------------------------------------------------------------------------


def _partition(lake: Path, source: str, endpoint: str, company: str, year: str | None = None) -> Path:
    schema = pa.schema([("n", pa.int64())])
    batch = pa.RecordBatch.from_pydict({"n": [1, 2, 3]}, schema=schema)
    return write_partition(partition_dir(lake, source, endpoint, company, year), schema, [batch]).path


def test_remove_archives_a_company_the_file_no_longer_has_out_of_the_dbt_glob(tmp_path):
    lake = tmp_path / "lake"
    _partition(lake, "fennoa", "accounts", "acme")
    _partition(lake, "fennoa", "ledger", "acme", "2025")
    _partition(lake, "fennoa", "ledger", "keep", "2025")
    config = _config({**ACME, "id": "keep"})
    assert [(s.source, s.company) for s in stale(lake, config)] == [("fennoa", "acme")]

    [archived] = remove(lake, config, ["acme"])
    assert archived.rows == 6 and archived.endpoints == 2
    to = Path(archived.to)
    assert to.is_relative_to(lake / "_archive") and to.name.endswith("-acme")
    assert (to / "raw/fennoa/ledger/company=acme/fiscal_year=2025" / PART).exists()
    assert not list(lake.glob("raw/*/*/company=acme/**/*.parquet")), "nothing of it left where dbt reads"
    assert (lake / "raw/fennoa/ledger/company=keep/fiscal_year=2025" / PART).exists()
    with pytest.raises(RemovalError, match="no partitions"):
        remove(lake, config, ["acme"])


def test_remove_refuses_a_configured_company_but_takes_its_old_erp(tmp_path):
    lake = tmp_path / "lake"
    _partition(lake, "fennoa", "accounts", "nova")
    _partition(lake, "netvisor", "accounts", "nova")
    config = _config(NETVISOR)  # nova moved from Fennoa to Netvisor
    [archived] = remove(lake, config, ["nova"])
    assert archived.source == "fennoa"
    assert (lake / "raw/netvisor/accounts/company=nova" / PART).exists()
    with pytest.raises(RemovalError, match="still in the companies file"):
        remove(lake, config, ["nova"])


# -- environment -------------------------------------------------------------------------------------------


def test_the_environment_is_prepared_as_make_does(tmp_path, monkeypatch):
    env_file = tmp_path / "my.env"
    env_file.write_text("# mine\nMY_KEY=from-file\nexport MY_USER=me\nALREADY=from-file\n\n")
    assert read_env_file(env_file) == {"MY_KEY": "from-file", "MY_USER": "me", "ALREADY": "from-file"}
    monkeypatch.setenv("ALREADY", "from-environment")
    prepare_environment(tmp_path / "c.yaml", env_file)
    assert os.environ["MY_KEY"] == "from-file" and os.environ["ALREADY"] == "from-environment"
    assert os.environ["DAGSTER_HOME"] == str(ROOT / "dagster_home")
    assert os.environ["NORDLEDGER_COMPANIES_FILE"] == str((tmp_path / "c.yaml").resolve())


def test_demo_credentials_never_fill_in_for_a_real_api(tmp_path, monkeypatch):
    demo = read_env_file(ROOT / "demo.env")
    for name in demo:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("NORDLEDGER_COMPANIES_FILE", raising=False)
    mine = yaml.safe_load((ROOT / "companies.yaml").read_text())
    # one company of one's own, on the real Procountor, naming the same client variables as the demo's Eira
    mine["companies"].append(
        {"id": "cedar", "name": "Cedar Oy", "business_id": "4567890-7", "erp": "procountor",
         "credentials": {"client_id": "PROCOUNTOR_CLIENT_ID", "client_secret": "PROCOUNTOR_CLIENT_SECRET",
                         "api_key": "CEDAR_PROCOUNTOR_API_KEY"}}
    )  # fmt: skip
    (tmp_path / "mine.yaml").write_text(yaml.safe_dump(mine))
    prepare_environment(tmp_path / "mine.yaml", None)
    assert "PROCOUNTOR_CLIENT_SECRET" not in os.environ and "PROCOUNTOR_CLIENT_ID" not in os.environ
    assert os.environ["AURORA_FENNOA_API_KEY"] == demo["AURORA_FENNOA_API_KEY"]  # the simulator's companies

    for name in demo:
        monkeypatch.delenv(name, raising=False)
    prepare_environment(ROOT / "companies.yaml", None)
    assert all(os.environ[name] == value for name, value in demo.items())


# -- the simulator's port ----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_free_port_is_free_and_a_foreign_holder_is_refused(tmp_path):
    port = _free_port()
    assert port_holder(port) is None and our_simulator_running(port) is False
    # another program, run from elsewhere, holds the port
    server = subprocess.Popen(
        ["/usr/bin/env", "-i", "python3", "-m", "http.server", "--bind", "127.0.0.1", str(port)],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while port_holder(port) is None and time.monotonic() < deadline:
            time.sleep(0.1)
        holder = port_holder(port)
        assert holder is not None and not holder.ours
        with pytest.raises(PortTakenError, match=f"port {port}.*not this checkout's simulator"):
            our_simulator_running(port)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:  # once seen in CI on a loaded machine: make sure it goes
            server.kill()
            server.wait(timeout=10)


# -- the guide ---------------------------------------------------------------------------------------------


def test_the_guide_lists_every_netvisor_resource_the_pipeline_reads():
    """The rights a Netvisor user grants are the resources named in the connector's endpoints, no more."""
    import re

    from connectors import registry

    described = " ".join(e.description for e in registry.erp("netvisor").endpoints)
    resources = set(re.findall(r"\b[a-z]+\.nv\b", described))
    guide = (ROOT / "README.md").read_text().split("## Connect your own ERP", 1)[1].split("\n## ", 1)[0]
    netvisor = guide.split("**Netvisor.**", 1)[1].split("**Procountor.**", 1)[0]
    assert resources and resources == set(re.findall(r"`([a-z]+\.nv)`", netvisor))
    for command in ("nordledger check", "nordledger sync", "nordledger remove", "bank authorize", "DAGSTER_HOME"):
        assert command in guide


def test_a_sync_asks_for_boxes_of_companies_and_years_not_one_run_each():
    from types import SimpleNamespace

    from orchestration.refresh import RANGE_END, RANGE_START
    from orchestration.sync import _company_ranges, _year_ranges

    config = _config(ACME, {**ACME, "id": "bolt"}, {**ACME, "id": "cora"}, NETVISOR)
    pipeline = SimpleNamespace(config=config)
    assert _company_ranges(pipeline, "fennoa", {"acme", "cora"}) == [
        {RANGE_START: "acme", RANGE_END: "acme"},
        {RANGE_START: "cora", RANGE_END: "cora"},
    ]
    assert _year_ranges(pipeline, "acme", ["2024", "2025", "2027"]) == [
        {RANGE_START: "acme|2024", RANGE_END: "acme|2025", "nordledger/company": "acme"},
        {RANGE_START: "acme|2027", RANGE_END: "acme|2027", "nordledger/company": "acme"},
    ]
    assert _year_ranges(pipeline, "acme", ["2026"], "cora") == [{RANGE_START: "acme|2026", RANGE_END: "cora|2026"}]
