"""README's "Adding an ERP", proved: a toy ERP spec registered from here gets its assets, partitions,
jobs and schedules with no other change, and its assets materialize into the lake."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from connectors import registry, schemas
from connectors.fiscal import FiscalPeriod
from connectors.settings import load_settings
from connectors.spec import ClientSettings, CredentialField, Endpoint, ErpSpec
from orchestration.definitions import build_pipeline

LEDGER = schemas.schema(
    schemas.FISCAL_YEAR_KEYS, ("entry_date", pa.date32()), ("account_number", pa.string()), ("debit", schemas.MONEY)
)


class ToyClient:
    """A whole ERP in memory: two fiscal years, a chart of two accounts, one ledger line a year."""

    def __init__(self, settings: ClientSettings):
        self.company_id = settings.company_id
        self.pages_fetched = 0
        assert settings.secrets == {"token": "toy-secret"}

    def fiscal_periods(self) -> list[FiscalPeriod]:
        return [
            FiscalPeriod("fy1", date(2024, 7, 1), date(2025, 6, 30)),
            FiscalPeriod("fy2", date(2025, 7, 1), date(2026, 6, 30)),
        ]

    def accounts(self) -> Iterator[pa.RecordBatch]:
        self.pages_fetched += 1
        rows = [{"company_id": self.company_id, "account_number": n} for n in ("1910", "3000")]
        yield pa.RecordBatch.from_pylist(rows, schema=ACCOUNTS)

    def ledger(self, period: FiscalPeriod) -> Iterator[pa.RecordBatch]:
        self.pages_fetched += 1
        row = {
            "company_id": self.company_id,
            "fiscal_year": int(period.key),
            "period_id": period.id,
            "entry_date": period.start,
            "account_number": "1910",
            "debit": Decimal("12.34"),
        }
        yield pa.RecordBatch.from_pylist([row], schema=LEDGER)

    def close(self) -> None:
        pass

    def __enter__(self) -> ToyClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


ACCOUNTS = schemas.schema(schemas.COMPANY_ID, ("account_number", pa.string()))

TOY = ErpSpec(
    name="toyerp",
    title="Toy ERP",
    credentials=(CredentialField("token", "API token"),),
    default_base_url="https://toy.invalid",
    build_client=ToyClient,
    endpoints=(
        Endpoint("toyerp", "accounts", "company", ACCOUNTS, "Chart of accounts.", lambda c: c.accounts()),
        Endpoint("toyerp", "ledger", "fiscal_year", LEDGER, "Ledger lines.", lambda c, p: c.ledger(p)),
    ),
)


@pytest.fixture
def toy_pipeline(tmp_path, monkeypatch):
    companies = {
        "fiscal_years": {"first": 2025, "last": 2026},
        "companies": [
            {
                "id": "toyco",
                "name": "Toy Oy",
                "business_id": "2345678-0",
                "erp": "toyerp",
                "credentials": {"token": "TOYCO_TOKEN"},
            }
        ],
    }
    (tmp_path / "companies.yaml").write_text(yaml.safe_dump(companies))
    monkeypatch.setenv("TOYCO_TOKEN", "toy-secret")
    settings = load_settings(
        {"NORDLEDGER_COMPANIES_FILE": str(tmp_path / "companies.yaml"), "NORDLEDGER_DATA_DIR": str(tmp_path / "data")}
    )
    with registry.registered(TOY):
        yield build_pipeline(settings)


def test_a_registered_spec_gets_assets_partitions_jobs_and_schedules(toy_pipeline):
    defs = toy_pipeline.defs
    graph = defs.resolve_asset_graph()
    accounts = graph.get(dg.AssetKey(["raw", "toyerp", "accounts"]))
    ledger = graph.get(dg.AssetKey(["raw", "toyerp", "ledger"]))
    assert accounts.partitions_def.get_partition_keys() == ["toyco"]
    assert [str(k) for k in ledger.partitions_def.get_partition_keys()] == ["toyco|2025", "toyco|2026"]
    assert accounts.pools == {"toyerp_api"}
    assert {j.name for j in toy_pipeline.jobs.extract} == {"toyerp_reference_job", "toyerp_fiscal_year_job"}
    assert {s.name for s in defs.schedules} == {"toyerp_reference_nightly", "toyerp_fiscal_year_nightly"}
    assert "Toy ERP" in defs.resolve_job_def("toyerp_fiscal_year_job").description


def test_its_assets_materialize_into_the_lake(toy_pipeline):
    defs, lake = toy_pipeline.defs, toy_pipeline.settings.lake_root
    with dg.DagsterInstance.ephemeral() as instance:
        for name, key in (("toyerp_reference_job", "toyco"), ("toyerp_fiscal_year_job", "toyco|2026")):
            job = defs.resolve_job_def(name)
            partition = job.partitions_def.get_partition_key_from_str(key) if "|" in key else key
            assert job.execute_in_process(instance=instance, partition_key=partition).success
    ledger = pq.read_table(lake / "raw/toyerp/ledger/company=toyco/fiscal_year=2026/part-0.parquet")
    assert ledger.schema.equals(LEDGER)
    assert ledger.to_pylist()[0]["period_id"] == "fy2"  # the fiscal year ending in 2026, from the ERP
    assert ledger.to_pylist()[0]["debit"] == Decimal("12.34")
    assert pq.read_table(lake / "raw/toyerp/accounts/company=toyco/part-0.parquet").num_rows == 2


def test_an_unregistered_erp_is_a_config_error_naming_the_known_ones(tmp_path):
    from connectors.companies import CompaniesConfigError, load_companies

    companies = {
        "fiscal_years": {"first": 2025},
        "companies": [{"id": "toyco", "name": "T", "business_id": "2345678-0", "erp": "toyerp", "credentials": {}}],
    }
    (tmp_path / "companies.yaml").write_text(yaml.safe_dump(companies))
    with pytest.raises(CompaniesConfigError, match=r"companies\[0\]\), field 'erp': .*unknown ERP 'toyerp'.*fennoa"):
        load_companies(tmp_path / "companies.yaml", require_env=False)
