"""Dagster resources: API clients per company (built from the registry's specs), the lake, the warehouse."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dagster as dg

from assets.lake import DEFAULT_MAX_SHRINK, PRIVATE, Modes, ensure_dir
from assets.lake_store import LakeStore, open_lake
from connectors import registry
from connectors.bank import BankAggregator, TokenStore
from connectors.companies import BankConnection, CompaniesConfig, Company, load_companies
from connectors.errors import AuthenticationError
from connectors.http import RetryPolicy
from connectors.settings import Settings, read_secret
from connectors.spec import BankClientSettings, ClientSettings, CredentialField, ErpClient


class MissingCredentialError(AuthenticationError):
    """A credential variable of the company is unset: the company's runs fail at once, others go on."""


def _secrets(
    source: str, company_id: str, where: str, fields: tuple[CredentialField, ...], variables: dict[str, str]
) -> dict[str, str]:
    secrets, missing = {}, []
    for credential in fields:
        env_name = variables[credential.name]
        value = read_secret(env_name)
        if value:
            secrets[credential.name] = value
        else:
            missing.append(f"{env_name} ({credential.name})")
    if missing:
        raise MissingCredentialError(
            source, company_id, where, f"credentials missing: environment variable {', '.join(missing)} is not set"
        )
    return secrets


def _http(settings: Settings) -> dict[str, Any]:
    return {
        "companies_file": str(settings.companies_file),
        "http_timeout": settings.http_timeout,
        "http_max_attempts": settings.http_max_attempts,
        "http_base_delay": settings.http_base_delay,
        "http_deadline": settings.http_deadline,
        "http_max_body_mb": settings.http_max_body_mb,
    }


class _HttpSettings(dg.ConfigurableResource):
    companies_file: str
    http_timeout: float | None = None
    http_max_attempts: int = 6
    http_base_delay: float = 0.5
    http_deadline: float | None = None  # None: each API's own default
    http_max_body_mb: float | None = None

    def retry(self, default_timeout: float) -> RetryPolicy:
        return RetryPolicy(
            max_attempts=self.http_max_attempts,
            base_delay=self.http_base_delay,
            timeout=self.http_timeout or default_timeout,
            deadline=self.http_deadline,
            max_body_bytes=int(self.http_max_body_mb * 1024 * 1024) if self.http_max_body_mb else None,
        )

    def config(self) -> CompaniesConfig:
        return load_companies(Path(self.companies_file), require_env=False)


class ErpClients(_HttpSettings):
    """Builds a company's ERP client from companies.yaml, its credential variables and its ERP's spec."""

    @classmethod
    def from_settings(cls, settings: Settings) -> ErpClients:
        return cls(**_http(settings))

    def company(self, company_id: str) -> Company:
        return self.config().by_id[company_id]

    def client(self, company_id: str) -> ErpClient:
        company = self.company(company_id)
        spec = company.spec
        secrets = _secrets(spec.name, company.id, "credentials", spec.credentials, company.credentials)
        return spec.build_client(
            ClientSettings(
                company_id=company.id,
                business_id=company.business_id,
                base_url=company.base_url or spec.default_base_url,
                secrets=secrets,
                options=dict(company.options),
                retry=self.retry(spec.default_timeout),
                requests_per_second=company.requests_per_second or spec.requests_per_second,
            )
        )


class BankClients(_HttpSettings):
    """Builds the aggregator client of a bank connection, with its token store."""

    secrets_dir: str

    @classmethod
    def from_settings(cls, settings: Settings) -> BankClients:
        return cls(**_http(settings), secrets_dir=str(settings.secrets_dir))

    def connections(self, company_id: str) -> tuple[CompaniesConfig, list[BankConnection]]:
        config = self.config()
        return config, config.by_id[company_id].bank_connections

    def token_store(self, connection_id: str) -> TokenStore:
        secrets = Path(self.secrets_dir)
        ensure_dir(secrets / "bank")
        os.chmod(secrets, PRIVATE.directory)  # owner-only, also when it existed before
        return TokenStore(secrets / "bank" / f"{connection_id}.json")

    def client(self, company_id: str, connection_id: str) -> BankAggregator:
        config, connections = self.connections(company_id)
        connection = next(c for c in connections if c.id == connection_id)
        spec = registry.aggregator(connection.aggregator)
        secrets = _secrets(
            spec.source, company_id, f"connection {connection_id}", spec.credentials, connection.credentials
        )
        return spec.build_client(
            BankClientSettings(
                company_id=company_id,
                connection_id=connection.id,
                base_url=connection.base_url or spec.default_base_url,
                secrets=secrets,
                token_path=self.token_store(connection.id).path,
                provider_id=connection.provider_id,
                fallback_consent_days=config.bank.fallback_consent_days,
                retry=self.retry(60.0),
            )
        )


class Lake(dg.ConfigurableResource):
    """Root of the Parquet lake: raw/<source>/<endpoint>/company=<id>/[fiscal_year=<YYYY>/]part-0.parquet."""

    root: str  # a folder, or s3://bucket/prefix
    max_shrink: float = DEFAULT_MAX_SHRINK  # the volume guard's bound, a share of the stored rows
    group_read: bool = False  # lake files readable by the owner's group (else owner-only)
    s3_endpoint: str | None = None  # the S3 lake's server (None: AWS); its credentials are the AWS SDK's
    s3_region: str | None = None

    @property
    def store(self) -> LakeStore:
        return open_lake(self.root, self.s3_endpoint, self.s3_region)

    @property
    def modes(self) -> Modes:
        return Modes.for_group_read(self.group_read)


class Warehouse(dg.ConfigurableResource):
    """The DuckDB file dbt builds and the read-only copy that BI tools open."""

    build_db: str
    published_db: str
    group_read: bool = False  # the published copy readable by the owner's group (a BI service account)
    # The marts also in PostgreSQL (host None: not): connectors.settings.MartsPostgres's fields, prefixed, whose
    # defaults these repeat; the password is read from NORDLEDGER_MARTS_PG_PASSWORD when the publish step runs,
    # so it is never part of the resource's config.
    postgres_host: str | None = None
    postgres_port: int = 5432
    postgres_database: str = "nordledger"
    postgres_user: str = "nordledger"
    postgres_schema: str = "marts"
    postgres_reader_role: str = "nordledger_bi"
    postgres_sslmode: str = "prefer"

    @property
    def modes(self) -> Modes:
        return Modes.for_group_read(self.group_read)
