"""Dagster resources: API clients per company, the Parquet lake, and the warehouse files."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from connectors.bank import TokenStore
from connectors.errors import AuthenticationError
from connectors.fennoa import FennoaClient
from connectors.http import RetryPolicy
from connectors.nag import NagClient
from connectors.netvisor import NetvisorClient
from connectors.procountor import REQUESTS_PER_SECOND as PROCOUNTOR_REQUESTS_PER_SECOND
from connectors.procountor import ProcountorClient
from orchestration.companies import Company, load_companies
from orchestration.settings import read_secret

DEFAULT_BASE_URLS = {
    "fennoa": "https://app.fennoa.com/api",
    "netvisor": "https://isvapi.netvisor.fi",
    "procountor": "https://api.procountor.com/latest/api",
    "nag": "https://api.nordicapigateway.com",
}


class MissingCredentialError(AuthenticationError):
    pass


class ErpClients(dg.ConfigurableResource):
    """Builds the API client of a company from companies.yaml and its credential variables."""

    companies_file: str
    http_timeout: float | None = None
    http_max_attempts: int = 6
    http_base_delay: float = 0.5

    def retry(self, default_timeout: float = 60.0) -> RetryPolicy:
        return RetryPolicy(
            max_attempts=self.http_max_attempts,
            base_delay=self.http_base_delay,
            timeout=self.http_timeout or default_timeout,
        )

    def company(self, company_id: str) -> Company:
        return load_companies(Path(self.companies_file), require_env=False).by_id[company_id]

    def client(self, company_id: str):
        company = self.company(company_id)
        secrets = {}
        for key, env_name in company.credentials.items():
            value = read_secret(env_name)
            if not value:
                raise MissingCredentialError(
                    company.erp, company.id, "credentials", f"environment variable {env_name} ({key}) is not set"
                )
            secrets[key] = value
        base_url = company.base_url or DEFAULT_BASE_URLS[company.erp]
        if company.erp == "fennoa":
            return FennoaClient(
                company.id,
                base_url,
                secrets["username"],
                secrets["api_key"],
                retry=self.retry(),
                requests_per_second=company.requests_per_second,
            )
        if company.erp == "netvisor":
            return NetvisorClient(
                company.id,
                base_url,
                secrets["customer_id"],
                secrets["customer_key"],
                secrets["partner_id"],
                secrets["partner_key"],
                company.business_id,
                algorithm=company.netvisor_mac_algorithm,
                requests_per_second=company.requests_per_second,
                retry=self.retry(default_timeout=180.0),
            )  # Netvisor: 120-360 s recommended
        if company.erp == "procountor":
            return ProcountorClient(
                company.id,
                base_url,
                secrets["client_id"],
                secrets["client_secret"],
                secrets["api_key"],
                retry=self.retry(),
                requests_per_second=company.requests_per_second or PROCOUNTOR_REQUESTS_PER_SECOND,
            )
        raise NotImplementedError(f"no connector for ERP {company.erp!r}")


class BankClients(dg.ConfigurableResource):
    """Builds the aggregator client of a bank connection, with its token store."""

    companies_file: str
    secrets_dir: str
    http_timeout: float | None = None
    http_max_attempts: int = 6
    http_base_delay: float = 0.5

    def connections(self, company_id: str):
        config = load_companies(Path(self.companies_file), require_env=False)
        return config, config.by_id[company_id].bank_connections

    def token_store(self, connection_id: str) -> TokenStore:
        return TokenStore(Path(self.secrets_dir) / "bank" / f"{connection_id}.json")

    def client(self, company_id: str, connection_id: str) -> NagClient:
        config, connections = self.connections(company_id)
        connection = next(c for c in connections if c.id == connection_id)
        secrets = {}
        for key, env_name in connection.credentials.items():
            value = read_secret(env_name)
            if not value:
                raise MissingCredentialError(
                    "nag",
                    company_id,
                    f"connection {connection_id}",
                    f"environment variable {env_name} ({key}) is not set",
                )
            secrets[key] = value
        return NagClient(
            company_id,
            connection.id,
            connection.base_url or DEFAULT_BASE_URLS["nag"],
            secrets["client_id"],
            secrets["client_secret"],
            self.token_store(connection.id),
            provider_id=connection.provider_id,
            fallback_consent_days=config.bank.fallback_consent_days,
            retry=RetryPolicy(
                max_attempts=self.http_max_attempts, base_delay=self.http_base_delay, timeout=self.http_timeout or 60.0
            ),
        )


class Lake(dg.ConfigurableResource):
    """Root of the Parquet lake: raw/<source>/<endpoint>/company=<id>/[fiscal_year=<YYYY>/]part-0.parquet."""

    root: str

    @property
    def path(self) -> Path:
        return Path(self.root)


class Warehouse(dg.ConfigurableResource):
    """The DuckDB file dbt builds and the read-only copy that BI tools open."""

    build_db: str
    published_db: str
