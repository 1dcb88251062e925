"""`companies.yaml`: which companies to extract, from which ERP, with which credential variables.

Validation errors name the file, the company and the field. The file holds only the *names* of
environment variables; their values are read when a run needs them.

What reaches SQL (through dbt's `companies` var) is checked here first: ids are safe identifiers,
account numbers are digits, bank account ids use a small charset, the chart template is a known
one. dbt still renders every value as an escaped literal (macro `sql_string`): validation narrows
what can arrive, escaping makes whatever arrives data. Plain `http://` is refused beyond loopback
(credentials would travel in clear text), and a key written twice in the YAML is an error, not
last-wins.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import re
import unicodedata
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from connectors import registry
from connectors.spec import ErpSpec

COMPANY_ID = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
BUSINESS_ID = re.compile(r"^(\d{7})-(\d)$")
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2)
# GL account numbers are text made of digits: "0710" and "710" are different accounts.
ACCOUNT_NUMBER = re.compile(r"^[0-9]{1,20}$")
# Bank account ids are the aggregator's opaque ids (e.g. acc_7f3a..., UUIDs, base64): ASCII letters,
# digits and . _ ~ : = + / - only, 1-200 characters. No quotes, backslashes, spaces or control characters.
BANK_ACCOUNT_ID = re.compile(r"^[A-Za-z0-9._~:=+/-]{1,200}$")
# An ERP option without choices is free text (e.g. Netvisor's organisation id). It may travel in an
# HTTP header and a signature: printable ASCII without spaces, at most 100 characters; empty takes
# the option's documented default.
FREE_TEXT_OPTION = re.compile(r"^[\x21-\x7e]{0,100}$")
# The chart templates the dbt seeds define (seeds/account_classes.csv and report_line_ranges.csv,
# column chart_template). This tuple is the list companies.yaml is checked against;
# tests/dbt/test_chart_templates.py fails when the seeds and this tuple disagree.
CHART_TEMPLATES: tuple[str, ...] = ("default",)
LOOPBACK_NAMES = frozenset({"localhost"})


class CompaniesConfigError(ValueError):
    """companies.yaml is wrong; the message says where."""


def business_id_is_valid(value: str) -> bool:
    """Y-tunnus: seven digits, a hyphen and a modulo-11 check digit."""
    match = BUSINESS_ID.fullmatch(value)
    if not match:
        return False
    remainder = sum(int(d) * w for d, w in zip(match.group(1), _WEIGHTS, strict=True)) % 11
    if remainder == 1:
        return False
    return int(match.group(2)) == (0 if remainder == 0 else 11 - remainder)


def is_loopback_host(host: str) -> bool:
    """127.0.0.0/8, ::1 or localhost: traffic that never leaves the machine."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_base_url(value: str | None) -> str | None:
    """An http(s) URL with a host; plain http only to loopback (the simulator, a local proxy)."""
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not value.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    if not parts.hostname:
        raise ValueError("has no host name")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise ValueError(
            f"http:// to {parts.hostname!r} would send the credentials in clear text; use https:// "
            "(plain http is allowed only to loopback: 127.0.0.0/8, ::1, localhost)"
        )
    return value


def _quote_hint(value: object) -> object:
    """A number where an account number belongs: YAML read it unquoted, so say how to write it."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError(
            f'{value!r} is a number; write account numbers in quotes (e.g. "1910"): they are text, '
            "leading zeros count, and YAML reads an unquoted 0710 as the octal number 456"
        )
    return value


def check_account_number(value: str, what: str = "account number") -> str:
    if not ACCOUNT_NUMBER.fullmatch(value):
        raise ValueError(f"{what} {value!r} is not an account number (1-20 digits, written as text)")
    return value


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
        if not COMPANY_ID.fullmatch(value):
            raise ValueError(
                "must be 2-40 characters: a lower-case letter, then lower-case letters, digits or underscores"
            )
        return value

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        return check_base_url(value)

    @field_validator("gl_cash_account", mode="before")
    @classmethod
    def _cash_account_is_text(cls, value: object) -> object:
        return _quote_hint(value)

    @field_validator("gl_cash_account")
    @classmethod
    def _cash_account_number(cls, value: str) -> str:
        return check_account_number(value)

    @field_validator("account_gl_map", mode="before")
    @classmethod
    def _map_accounts_are_text(cls, value: object) -> object:
        if isinstance(value, dict):
            for gl_account in value.values():
                _quote_hint(gl_account)
        return value

    @field_validator("account_gl_map")
    @classmethod
    def _map_is_safe(cls, value: dict[str, str]) -> dict[str, str]:
        for account_id, gl_account in value.items():
            if not BANK_ACCOUNT_ID.fullmatch(account_id):
                raise ValueError(
                    f"bank account id {account_id!r} may hold only ASCII letters, digits and . _ ~ : = + / - "
                    "(1-200 characters)"
                )
            check_account_number(gl_account, f"{account_id}: GL account")
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
            if not ENV_NAME.fullmatch(env_name):
                raise ValueError(f"credentials.{key}: not an environment variable name")
        return self


# The statement forms dbt_project/seeds/report_lines.csv defines (tests/dbt/test_chart_templates.py keeps them equal).
ReportSchema = Literal["KPA", "PMA", "PMA_BRUTTO", "PMA_MIKRO", "PMA_MIKRO_BRUTTO"]


class Company(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(description="Safe identifier: lower-case letters, digits and underscores")
    name: str
    business_id: str
    erp: str = Field(description="ERP of the company: the name of a registered connector spec")
    credentials: dict[str, str] = Field(description="credential name -> environment variable name")
    base_url: str | None = None
    report_schema: ReportSchema = Field(
        default="KPA",
        description="Statement forms: KPA (Kirjanpitoasetus 1:1 and 1:6, every item), PMA (small company, "
        "VNa 1753/2015 ch. 2), PMA_MIKRO (micro company, ch. 3), each PMA form also with Bruttotulos "
        "(_BRUTTO: items 1-5 of the P&L combined)",
    )
    chart_template: str = "default"
    options: dict[str, str] = Field(
        default_factory=dict,
        description="ERP-specific settings, written as top-level keys (e.g. netvisor_mac_algorithm, "
        "netvisor_organisation_id) and validated against the ERP spec's options (one of its choices, or "
        "free text where it has none), defaults filled in",
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
        if not COMPANY_ID.fullmatch(value):
            raise ValueError(
                "must be 2-40 characters: a lower-case letter, then lower-case letters, digits "
                "or underscores (it becomes part of paths and SQL)"
            )
        return value

    @field_validator("name")
    @classmethod
    def _printable_name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        if any(unicodedata.category(ch) == "Cc" for ch in value):
            raise ValueError("must not contain control characters (line breaks, tabs)")
        return value

    @field_validator("chart_template")
    @classmethod
    def _known_template(cls, value: str) -> str:
        if value not in CHART_TEMPLATES:
            raise ValueError(
                f"unknown chart template {value!r} (known: {', '.join(CHART_TEMPLATES)}; a template is "
                "defined by its rows in dbt_project/seeds/account_classes.csv and report_line_ranges.csv)"
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
        return check_base_url(value)

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
            choices = known[name].choices
            if not choices:  # free text
                if not FREE_TEXT_OPTION.fullmatch(value):
                    raise ValueError(f"{name}: must be printable ASCII without spaces, at most 100 characters")
            elif value not in choices:
                raise ValueError(f"{name}: {value!r} is not one of {', '.join(choices)}")
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
            if not ENV_NAME.fullmatch(env_name):
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


class DuplicateKeyError(yaml.YAMLError):
    """A mapping names the same key twice (plain YAML would keep the last one silently)."""

    def __init__(self, key: object, line: int, first_line: int) -> None:
        super().__init__(f"line {line}: duplicate key {key!r} (first on line {first_line})")
        self.key, self.line, self.first_line = key, line, first_line


class UniqueKeyLoader(yaml.SafeLoader):
    """yaml.SafeLoader that refuses a key written twice in one mapping, at any depth.

    Keys merged in with `<<: *anchor` may be overridden: that is what a merge is for.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[object, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.get(key)
            except TypeError:
                continue  # an unhashable key: the base class says what is wrong
            line = key_node.start_mark.line + 1
            if first is not None:
                raise DuplicateKeyError(key, line, first)
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def _parse_file(path: Path, require_env: bool) -> CompaniesConfig:
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=UniqueKeyLoader)  # a SafeLoader subclass
    except DuplicateKeyError as exc:
        raise CompaniesConfigError(
            f"{path}: line {exc.line}: duplicate key {exc.key!r} (first on line {exc.first_line}); "
            "YAML would silently keep only the last one"
        ) from None
    except yaml.YAMLError as exc:
        raise CompaniesConfigError(f"{path}: not valid YAML: {exc}") from None
    return parse_companies(raw, str(path), os.environ if require_env else None)
