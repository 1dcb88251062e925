"""companies.yaml mistakes fail at load with the file, the company and the field named."""

import copy

import pytest
import yaml

from connectors.companies import CompaniesConfigError, business_id_is_valid, load_companies
from tests.conftest import ROOT

BASE = yaml.safe_load((ROOT / "companies.yaml").read_text())


def load(tmp_path, mutate, require_env=False):
    config = copy.deepcopy(BASE)
    mutate(config)
    path = tmp_path / "companies.yaml"
    path.write_text(yaml.safe_dump(config))
    return load_companies(path, require_env=require_env), str(path)


def error_of(tmp_path, mutate, require_env=False) -> str:
    with pytest.raises(CompaniesConfigError) as err:
        load(tmp_path, mutate, require_env)
    return str(err.value)


def test_the_demo_file_is_valid():
    config = load_companies(ROOT / "companies.yaml")
    assert [c.id for c in config.for_erp("fennoa")] == ["aurora", "borealis", "cirrus"]


def test_unknown_erp(tmp_path):
    message = error_of(tmp_path, lambda c: c["companies"][1].update(erp="sap"))
    assert str(tmp_path / "companies.yaml") in message
    assert "company 'borealis' (companies[1]), field 'erp'" in message


def test_missing_credential_variable(tmp_path, monkeypatch):
    monkeypatch.delenv("CIRRUS_FENNOA_API_KEY", raising=False)
    message = error_of(tmp_path, lambda c: None, require_env=True)
    assert (
        "company 'cirrus' (companies[2]), field 'credentials.api_key': environment variable "
        "CIRRUS_FENNOA_API_KEY is not set" in message
    )


def test_duplicate_company_id(tmp_path):
    message = error_of(tmp_path, lambda c: c["companies"][2].update(id="aurora"))
    assert "company 'aurora' (companies[2]), field 'id': duplicate of companies[0]" in message


def test_bad_business_id(tmp_path):
    message = error_of(tmp_path, lambda c: c["companies"][0].update(business_id="2345678-1"))
    assert "company 'aurora' (companies[0]), field 'business_id'" in message
    assert "Y-tunnus" in message


@pytest.mark.parametrize("bad_id", ["../x", "a'b", "Aurora", "a b", "x;drop"])
def test_company_ids_that_could_reach_paths_or_sql_are_rejected(tmp_path, bad_id):
    message = error_of(tmp_path, lambda c: c["companies"][0].update(id=bad_id))
    assert "field 'id'" in message


def test_a_secret_written_instead_of_a_variable_name_is_rejected(tmp_path):
    message = error_of(tmp_path, lambda c: c["companies"][0]["credentials"].update(api_key="s3cr3t-value"))
    assert "company 'aurora' (companies[0])" in message and "credentials.api_key" in message
    assert "never the secret itself" in message
    assert "s3cr3t-value" not in message


def test_business_id_checksum():
    assert business_id_is_valid("2345678-0") and business_id_is_valid("0112038-9")
    assert not business_id_is_valid("2345678-2") and not business_id_is_valid("1234567")
