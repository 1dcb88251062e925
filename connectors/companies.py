"""`companies.yaml`: which companies to extract, from which ERP, with which credential variables.

Validation errors name the file, the company and the field. The file holds only the *names* of
environment variables; their values are read when a run needs them.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from connectors import registry
from connectors.spec import ErpSpec

COMPANY_ID = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
BUSINESS_ID = re.compile(r"^(\d{7})-(\d)$")
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2)


class CompaniesConfigError(ValueError):
    """companies.yaml is wrong; the message says where."""


def business_id_is_valid(value: str) -> bool:
    """Y-tunnus: seven digits, a hyphen and a modulo-11 check digit."""
    match = BUSINESS_ID.match(value)
    if not match:
        return False
    remainder = sum(int(d) * w for d, w in zip(match.group(1), _WEIGHTS, strict=True)) % 11
    if remainder == 1:
        return False
    return int(match.group(2)) == (0 if remainder == 0 else 11 - remainder)


class BankConnection(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(description="Safe identifier of the connection (used in paths and commands)")
    aggregator: str = Field(default="nordic_api_gateway", description="Bank aggregator (a registered spec)")
    provider_id: str | None = Field(default=None, description="Bank (aggregator provider id) to preselect")
    base_url: str | None = None
    credentials: dict[str, str] = Field(description="client_id, client_secret -> environment variable names")
    gl_cash_account: str = Field(description="GL account of the bank's main account, e.g. 1910")
    account_gl_map: dict[str, str] = Field(default_factory=dict, description="bank account id -> GL account")

    @field_validator("id")
    @classmethod
    def _safe_id(cls, value: str) -> str:
        if not COMPANY_ID.match(value):
            raise ValueError(
                "must be 2-40 characters: a lower-case letter, then lower-case letters, digits or underscores"
            )
        return value

    @field_validator("aggregator")
    @classmethod
    def _known_aggregator(cls, value: str) -> str:
        if value not in registry.aggregator_names():
            raise ValueError(f"unknown bank aggregator {value!r} (known: {', '.join(registry.aggregator_names())})")
        return value

    @model_validator(mode="after")
    def _complete(self) -> BankConnection:
        required = registry.aggregator(self.aggregator).credential_names
        missing = [k for k in required if k not in self.credentials]
        if missing:
            raise ValueError(
                f"credentials: {self.aggregator} needs {', '.join(required)}; missing {', '.join(missing)}"
            )
        for key, env_name in self.credentials.items():
            if not ENV_NAME.match(env_name):
                raise ValueError(f"credentials.{key}: not an environment variable name")
        return self


class Company(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(description="Safe identifier: lower-case letters, digits and underscores")
    name: str
    business_id: str
    erp: str = Field(description="ERP of the company: the name of a registered connector spec")
    credentials: dict[str, str] = Field(description="credential name -> environment variable name")
    base_url: str | None = None
    report_schema: Literal["KPA", "PMA"] = "KPA"
    chart_template: str = "default"
    options: dict[str, str] = Field(
        default_factory=dict,
        description="ERP-specific settings, written as top-level keys (e.g. netvisor_mac_algorithm) and "
        "validated against the ERP spec's options, defaults filled in",
    )
    requests_per_second: float | None = Field(
        default=None,
        gt=0,
        description="Client-side request cap for this company's API (Procountor default: 18, "
        "under its published 20/s); others are unthrottled unless set",
    )
    bank_connections: list[BankConnection] = Field(default_factory=list)

    @field_validator("id")
    @classmethod
    def _safe_id(cls, value: str) -> str:
        if not COMPANY_ID.match(value):
            raise ValueError(
                "must be 2-40 characters: a lower-case letter, then lower-case letters, digits "
                "or underscores (it becomes part of paths and SQL)"
            )
        return value

    @field_validator("business_id")
    @classmethod
    def _valid_business_id(cls, value: str) -> str:
        if not business_id_is_valid(value):
            raise ValueError(f"{value!r} is not a valid Finnish business id (Y-tunnus, e.g. 1234567-1)")
        return value

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @model_validator(mode="before")
    @classmethod
    def _gather_options(cls, data: object) -> object:
        """Move the ERP's own settings into `options`, with each one's default."""
        if not isinstance(data, dict) or data.get("erp") not in registry.erp_names():
            return data  # the field validators say what is wrong
        spec = registry.erp(data["erp"])
        data = dict(data)
        options = dict(data.pop("options", None) or {})
        for option in spec.options:
            if option.name in data:
                options[option.name] = data.pop(option.name)
            options.setdefault(option.name, option.default)
        data["options"] = options
        return data

    @field_validator("erp")
    @classmethod
    def _known_erp(cls, value: str) -> str:
        if value not in registry.erp_names():
            raise ValueError(f"unknown ERP {value!r} (known: {', '.join(registry.erp_names())})")
        return value

    @property
    def spec(self) -> ErpSpec:
        return registry.erp(self.erp)

    @model_validator(mode="after")
    def _options_valid(self) -> Company:
        known = {o.name: o for o in self.spec.options}
        for name, value in self.options.items():
            if name not in known:
                raise ValueError(f"{name}: not a setting of {self.erp} (known: {', '.join(known) or 'none'})")
            if value not in known[name].choices:
                raise ValueError(f"{name}: {value!r} is not one of {', '.join(known[name].choices)}")
        return self

    @model_validator(mode="after")
    def _credentials_complete(self) -> Company:
        required = self.spec.credential_names
        missing = [k for k in required if k not in self.credentials]
        if missing:
            raise ValueError(f"credentials: {self.erp} needs {', '.join(required)}; missing {', '.join(missing)}")
        unknown = sorted(set(self.credentials) - set(required))
        if unknown:
            raise ValueError(f"credentials: unknown for {self.erp}: {', '.join(unknown)}")
        for key, env_name in self.credentials.items():
            if not ENV_NAME.match(env_name):
                # The value is not echoed: it may be a secret pasted here by mistake.
                raise ValueError(
                    f"credentials.{key}: not an environment variable name (upper-case letters, "
                    "digits and underscores; write the variable's name here, never the secret itself)"
                )
        return self


class FiscalYearRange(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    first: int = Field(ge=1990, le=2100, description="Oldest fiscal-year partition key")
    last: int | None = Field(default=None, description="Newest key; default: the current calendar year + 1")


Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


class Schedules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    erp_cron: str = Field(default="0 2 * * *", description="Nightly refresh of open fiscal years")
    full_refresh_day: Weekday | None = Field(
        default="sunday",
        description="The nightly run that re-reads open fiscal years in full instead of their "
        "changes (catches what change tracking cannot: deletions, late versions)",
    )
    bank_cron: str = Field(default="0 */6 * * *", description="Bank sync")
    timezone: str = "Europe/Helsinki"


class BankSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    consent_warning_days: int = Field(default=14, ge=1)
    fallback_consent_days: int = Field(default=90, ge=1, description="When the aggregator gives no expiry")
    overlap_days: int = Field(default=7, ge=7, description="Each sync re-reads this many days before the newest known")


class CompaniesConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    fiscal_years: FiscalYearRange
    companies: list[Company]
    schedules: Schedules = Schedules()
    bank: BankSettings = BankSettings()

    def bank_connections(self) -> list[tuple[Company, BankConnection]]:
        return [(c, b) for c in self.companies for b in c.bank_connections]

    @cached_property
    def by_id(self) -> dict[str, Company]:
        return {c.id: c for c in self.companies}

    def for_erp(self, erp: str) -> list[Company]:
        return [c for c in self.companies if c.erp == erp]

    @property
    def erps(self) -> list[str]:
        return sorted({c.erp for c in self.companies})


def _where(loc: tuple[int | str, ...], raw: Mapping[str, Any]) -> str:
    if len(loc) >= 2 and loc[0] == "companies" and isinstance(loc[1], int):
        companies = raw.get("companies") or []
        entry = companies[loc[1]] if loc[1] < len(companies) else {}
        company_id = entry.get("id") if isinstance(entry, dict) else None
        field = ".".join(str(p) for p in loc[2:]) or "(entry)"
        return f"company {company_id!r} (companies[{loc[1]}]), field '{field}'"
    return "field '" + ".".join(str(p) for p in loc) + "'"


def parse_companies(raw: object, source: str, environ: Mapping[str, str] | None = None) -> CompaniesConfig:
    """Validate parsed YAML; with `environ`, also require every credential variable to be set."""
    if not isinstance(raw, dict):
        raise CompaniesConfigError(f"{source}: expected a mapping with 'fiscal_years' and 'companies'")
    try:
        config = CompaniesConfig.model_validate(raw)
    except ValidationError as exc:
        problems = [f"{source}: {_where(err['loc'], raw)}: {err['msg']}" for err in exc.errors()]
        raise CompaniesConfigError("\n".join(problems)) from None
    seen: dict[str, int] = {}
    for index, company in enumerate(config.companies):
        if company.id in seen:
            raise CompaniesConfigError(
                f"{source}: company {company.id!r} (companies[{index}]), field 'id': duplicate of "
                f"companies[{seen[company.id]}]"
            )
        seen[company.id] = index
    connections: dict[str, str] = {}
    for company in config.companies:
        for connection in company.bank_connections:
            if connection.id in connections:
                raise CompaniesConfigError(
                    f"{source}: company {company.id!r}, field 'bank_connections': connection id "
                    f"{connection.id!r} is also used by company {connections[connection.id]!r}"
                )
            connections[connection.id] = company.id
    if environ is not None:
        for index, company in enumerate(config.companies):
            needed = dict(company.credentials)
            for connection in company.bank_connections:
                needed.update({f"bank_connections.{connection.id}.{k}": v for k, v in connection.credentials.items()})
            for key, env_name in needed.items():
                if not environ.get(env_name):
                    raise CompaniesConfigError(
                        f"{source}: company {company.id!r} (companies[{index}]), field 'credentials.{key}': "
                        f"environment variable {env_name} is not set"
                    )
    return config


def load_companies(path: Path, *, require_env: bool = False) -> CompaniesConfig:
    """The companies file, parsed once per version of the file; `require_env` also checks that every
    credential variable is set (the pipeline does not: a company without them fails only its own runs)."""
    if not path.exists():
        raise CompaniesConfigError(f"{path}: file not found (set NORDLEDGER_COMPANIES_FILE to point elsewhere)")
    if not require_env:  # the environment is not part of the answer, so the parse can be reused
        stat = path.stat()
        return _parsed_without_env(path, stat.st_mtime_ns, stat.st_size)
    return _parse_file(path, require_env)


@functools.lru_cache(maxsize=8)
def _parsed_without_env(path: Path, _mtime_ns: int, _size: int) -> CompaniesConfig:
    """Parsed once per version of the file: resources ask for it per company and endpoint."""
    return _parse_file(path, False)


def _parse_file(path: Path, require_env: bool) -> CompaniesConfig:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise CompaniesConfigError(f"{path}: not valid YAML: {exc}") from None
    return parse_companies(raw, str(path), os.environ if require_env else None)
