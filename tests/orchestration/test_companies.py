"""companies.yaml mistakes fail at load with the file, the company and the field named."""

import copy
import json
import subprocess

import pytest
import yaml

from connectors.companies import (
    CompaniesConfigError,
    DuplicateKeyError,
    UniqueKeyLoader,
    business_id_is_valid,
    load_companies,
)
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


@pytest.mark.parametrize("bad_id", ["../x", "a'b", "Aurora", "a b", "x;drop", "aurora\n"])
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


# --- Safe config: what reaches SQL is checked at load, and dbt renders it as data -------------------


def bank(config, index=0):
    return config["companies"][index]["bank_connections"][0]


@pytest.mark.parametrize(
    "bad", ["19'10", "1910'); drop table x; --", "19 10", "1910a", "", "-1910", "１９１０", "1910\n"]
)
def test_gl_cash_account_must_be_digits(tmp_path, bad):
    message = error_of(tmp_path, lambda c: bank(c).update(gl_cash_account=bad))
    assert str(tmp_path / "companies.yaml") in message
    assert "company 'aurora' (companies[0]), field 'bank_connections.0.gl_cash_account'" in message
    assert "not an account number" in message


def test_an_unquoted_account_number_is_refused_with_the_fix(tmp_path):
    message = error_of(tmp_path, lambda c: bank(c).update(gl_cash_account=1910))
    assert "field 'bank_connections.0.gl_cash_account'" in message
    assert 'write account numbers in quotes (e.g. "1910")' in message


def test_account_numbers_stay_text_with_leading_zeros(tmp_path):
    def mutate(c):
        bank(c).update(gl_cash_account="0710", account_gl_map={"acc-aurora-2": "01911"})

    config, _ = load(tmp_path, mutate)
    connection = config.by_id["aurora"].bank_connections[0]
    assert connection.gl_cash_account == "0710" and connection.account_gl_map == {"acc-aurora-2": "01911"}


def test_account_gl_map_values_must_be_account_numbers(tmp_path):
    message = error_of(tmp_path, lambda c: bank(c).update(account_gl_map={"acc-aurora-2": "19'11"}))
    assert "company 'aurora' (companies[0]), field 'bank_connections.0.account_gl_map'" in message
    assert 'acc-aurora-2: GL account "19\'11" is not an account number' in message


@pytest.mark.parametrize("bad_key", ["acc'x", "acc x", 'acc"x', "acc\\x", "acc;x", "", "acc\n"])
def test_account_gl_map_keys_are_bank_account_ids(tmp_path, bad_key):
    message = error_of(tmp_path, lambda c: bank(c).update(account_gl_map={bad_key: "1911"}))
    assert "company 'aurora' (companies[0]), field 'bank_connections.0.account_gl_map'" in message
    assert "may hold only ASCII letters, digits and . _ ~ : = + / -" in message


def test_aggregator_style_account_ids_are_accepted(tmp_path):
    ids = ["acc_7f3a", "9b2c5e1a-0d4f-4c3b-9a7e-2f6d8c1b0a3e", "dGVzdC1hY2NvdW50+/==", "prov:acc.1~2"]
    config, _ = load(tmp_path, lambda c: bank(c).update(account_gl_map=dict.fromkeys(ids, "1911")))
    assert sorted(config.by_id["aurora"].bank_connections[0].account_gl_map) == sorted(ids)


def test_unknown_chart_template(tmp_path):
    message = error_of(tmp_path, lambda c: c["companies"][1].update(chart_template="ifrs'"))
    assert "company 'borealis' (companies[1]), field 'chart_template'" in message
    assert "unknown chart template" in message and "known: default" in message


def test_the_default_chart_template_is_known(tmp_path):
    config, _ = load(tmp_path, lambda c: c["companies"][1].update(chart_template="default"))
    assert config.by_id["borealis"].chart_template == "default"


@pytest.mark.parametrize("name", ["Aurora\nAnalytics", "Aurora\x00", "   "])
def test_company_name_must_be_printable(tmp_path, name):
    message = error_of(tmp_path, lambda c: c["companies"][0].update(name=name))
    assert "company 'aurora' (companies[0]), field 'name'" in message


@pytest.mark.parametrize(
    "url",
    [
        "http://erp.example.com/api",
        "http://10.0.0.5/api",
        "http://127.0.0.1.example.com/",
        "http://localhost@evil.example/",
    ],
)
def test_plain_http_to_a_public_host_is_refused(tmp_path, url):
    message = error_of(tmp_path, lambda c: c["companies"][0].update(base_url=url))
    assert "company 'aurora' (companies[0]), field 'base_url'" in message
    assert "clear text" in message and "use https://" in message


def test_plain_http_for_a_bank_connection_is_refused(tmp_path):
    message = error_of(tmp_path, lambda c: bank(c, 1).update(base_url="http://api.nordicapigateway.com"))
    assert "company 'borealis' (companies[1]), field 'bank_connections.0.base_url'" in message
    assert "clear text" in message


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8765/fennoa/api",
        "http://127.9.9.9/x",
        "http://localhost:8765/x",
        "http://LOCALHOST/x",
        "http://[::1]:8765/x",
        "https://erp.example.com/api",
    ],
)
def test_https_anywhere_and_http_to_loopback_are_accepted(tmp_path, url):
    def mutate(c):
        c["companies"][0]["base_url"] = url
        bank(c)["base_url"] = url

    config, _ = load(tmp_path, mutate)
    assert config.by_id["aurora"].base_url == url
    assert config.by_id["aurora"].bank_connections[0].base_url == url


def test_a_base_url_must_be_http_or_https(tmp_path):
    message = error_of(tmp_path, lambda c: c["companies"][0].update(base_url="ftp://erp.example.com"))
    assert "field 'base_url'" in message and "must start with http:// or https://" in message


DEMO_TEXT = (ROOT / "companies.yaml").read_text()


def line_of(text: str, needle: str, after: int = 0) -> int:
    """1-based line number of the first line containing `needle` after line `after`."""
    for number, line in enumerate(text.splitlines(), start=1):
        if number > after and needle in line:
            return number
    raise AssertionError(needle)


def duplicate_error(tmp_path, text: str) -> str:
    path = tmp_path / "companies.yaml"
    path.write_text(text)
    with pytest.raises(CompaniesConfigError) as err:
        load_companies(path)
    return str(err.value)


def test_a_duplicate_top_level_key_is_an_error_with_its_line(tmp_path):
    text = DEMO_TEXT + "\nfiscal_years:\n  first: 2025\n"
    message = duplicate_error(tmp_path, text)
    first, again = line_of(text, "fiscal_years:"), len(text.splitlines()) - 1
    assert message.startswith(f"{tmp_path / 'companies.yaml'}: line {again}: duplicate key 'fiscal_years'")
    assert f"(first on line {first})" in message


def test_a_duplicate_key_inside_a_company_is_an_error_with_its_line(tmp_path):
    first = line_of(DEMO_TEXT, "erp: fennoa")
    lines = DEMO_TEXT.splitlines()
    lines.insert(first, "    erp: netvisor")  # the line after aurora's erp
    message = duplicate_error(tmp_path, "\n".join(lines) + "\n")
    assert f"line {first + 1}: duplicate key 'erp' (first on line {first})" in message


def test_a_duplicate_key_in_a_nested_flow_mapping_is_an_error(tmp_path):
    text = DEMO_TEXT.replace(
        'account_gl_map: {acc-aurora-2: "1911"}', 'account_gl_map: {acc-aurora-2: "1911", acc-aurora-2: "1912"}'
    )
    message = duplicate_error(tmp_path, text)
    assert f"line {line_of(text, 'acc-aurora-2')}: duplicate key 'acc-aurora-2'" in message


def test_a_merge_key_may_be_overridden_and_sequences_of_mappings_are_checked():
    assert yaml.load("a: &d {x: 1}\nb:\n  <<: *d\n  x: 2\n", Loader=UniqueKeyLoader) == {"a": {"x": 1}, "b": {"x": 2}}
    with pytest.raises(DuplicateKeyError) as err:
        yaml.load("a:\n  - {x: 1}\n  - y: 1\n    z: 2\n    y: 3\n", Loader=UniqueKeyLoader)
    assert (err.value.key, err.value.line, err.value.first_line) == ("y", 5, 3)


# --- End to end: companies.yaml -> dbt_vars -> dbt build against an empty lake ----------------------

HOSTILE = {  # values that could only reach dbt by bypassing load_companies: still data, not SQL
    "id": "evil'); drop table marts.dim_company; --",
    "name": "Evil' || (select 1) || 'Oy {{ 6 * 7 }}",
    "business_id": "1'2",
    "erp": "fennoa",
    "report_schema": "KPA'",
    "chart_template": "x'); drop table y; --",
    "bank_connections": [{"id": "b'1", "gl_cash_account": "19'10", "account_gl_map": {"a'b": "19'11"}}],
}


# An office beyond what dbt's command line once held (the companies went there as --vars, 128 KiB at most)
MANY = 1200


@pytest.fixture(scope="module")
def quoted_build(tmp_path_factory):
    """One dbt build of the config models: O'Brien Oy through the real loader, a hostile entry, and
    MANY more companies."""
    from assets.company_tables import company_rows, company_tables_dir, write_company_tables
    from assets.transform import FILE_LOG, dbt_executable, dbt_vars
    from connectors.settings import DBT_PROJECT_DIR, Settings

    tmp = tmp_path_factory.mktemp("quoted_build")
    config = copy.deepcopy(BASE)
    config["companies"][0]["name"] = "O'Brien Oy"
    path = tmp / "companies.yaml"
    path.write_text(yaml.safe_dump(config))
    (tmp / "lake").mkdir()
    (tmp / "warehouse").mkdir()
    settings = Settings(
        companies_file=path,
        lake_root=tmp / "lake",
        warehouse_dir=tmp / "warehouse",
        secrets_dir=tmp / "secrets",
        dbt_target="local",
    )
    rows = company_rows(load_companies(path))
    template = next(r for r in rows if r["erp"] == "fennoa")
    clients = [{**template, "id": f"client_{i:04d}", "name": f"Client {i:04d} Oy"} for i in range(MANY)]
    write_company_tables([*rows, HOSTILE, *clients], company_tables_dir(settings))
    project = ["--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
    paths = ["--target-path", str(tmp / "target"), "--log-path", str(tmp / "logs")]
    models = [
        "--select",
        "+dim_company +int_company_settings +int_bank_gl_accounts",
        "--indirect-selection",
        "cautious",
    ]
    result = subprocess.run(
        [dbt_executable(), "build", *FILE_LOG, *project, *paths, *models, "--vars", json.dumps(dbt_vars(settings))],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-4000:]
    return settings.build_db, tmp / "target" / "compiled" / "nordledger" / "models"


def test_a_company_name_with_a_quote_builds_and_reaches_dim_company_verbatim(quoted_build):
    import duckdb

    build_db, _ = quoted_build
    with duckdb.connect(str(build_db), read_only=True) as con:
        names = dict(con.execute("select company_id, company_name from marts.dim_company").fetchall())
    assert names["aurora"] == "O'Brien Oy"
    assert names["borealis"] == "Borealis Bakery Oy"
    assert len(names) == len(BASE["companies"]) + 1 + MANY and names["client_1199"] == "Client 1199 Oy"


def test_config_values_that_slip_past_validation_stay_data(quoted_build):
    import duckdb

    build_db, compiled = quoted_build
    with duckdb.connect(str(build_db), read_only=True) as con:
        row = con.execute(
            "select company_name, business_id, report_schema from marts.dim_company where company_id = ?",
            [HOSTILE["id"]],
        ).fetchone()
    assert row == (HOSTILE["name"], "1'2", "KPA'")
    # the companies are read as data: none of their values is in any compiled SQL
    for sql in compiled.rglob("*.sql"):
        text = sql.read_text()
        assert "drop table" not in text and "Brien" not in text and "client_0001" not in text, sql
