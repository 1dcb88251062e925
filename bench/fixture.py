"""The benchmark fixture: one company per ERP style with three fiscal years of a given size.

Sizes count ledger lines per fiscal year. Every contender gets the same tenants, credentials and
fiscal years, served by the simulator in bulk mode (responses rendered once, then from memory).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from connectors.fiscal import FiscalPeriod
from simulator.books import CompanyProfile
from simulator.catalogue import Tenant

SIZES = {"S": 10_000, "M": 100_000, "L": 1_000_000}
STYLES = ("fennoa", "netvisor", "procountor")
FISCAL_YEARS = (
    (date(2023, 1, 1), date(2023, 12, 31)),
    (date(2024, 1, 1), date(2024, 12, 31)),
    (date(2025, 1, 1), date(2025, 12, 31)),
)
# The books are as of mid-January 2026, so all three fiscal years are complete.
AS_OF = date(2026, 1, 15)
CREDENTIALS = {
    "fennoa": {"username": "bench-api", "api_key": "bench-key"},
    "netvisor": {
        "customer_id": "BENCH-CUST",
        "customer_key": "bench-customer-key",
        "partner_id": "BENCH-PARTNER",
        "partner_key": "bench-partner-key",
    },
    "procountor": {"client_id": "bench-client", "client_secret": "bench-secret", "api_key": "bench-api-key"},
}
MOUNTS = {"fennoa": "/fennoa/api", "netvisor": "/netvisor", "procountor": "/procountor/api"}
# An accounting office has one Procountor API client (an M2M integration) for all its client
# companies; each company creates an API key for it. Procountor's 20 requests/s count per client.
OFFICE_PROCOUNTOR_CLIENT = {"client_id": "bench-office-client", "client_secret": "bench-office-secret"}
# Credentials that belong to an API client rather than to one company: one variable per client.
CLIENT_CREDENTIALS = {"procountor": ("client_id", "client_secret")}


@dataclass(frozen=True)
class Fixture:
    style: str
    size: str
    base_url: str

    @property
    def company_id(self) -> str:
        return f"bench_{self.style}"

    @property
    def credentials(self) -> dict[str, str]:
        return CREDENTIALS[self.style]

    @property
    def lines_per_year(self) -> int:
        return SIZES[self.size]


def periods() -> list[FiscalPeriod]:
    """The fiscal years as the connectors see them (ids as the simulators number them)."""
    return [FiscalPeriod(str(i + 1), start, end) for i, (start, end) in enumerate(FISCAL_YEARS)]


def tenant(style: str, size: str) -> Tenant:
    profile = CompanyProfile(
        f"bench_{style}", "Bench Oy", "2345678-0", FISCAL_YEARS, lines_per_year=SIZES[size], seed=5
    )
    return Tenant(style, profile, CREDENTIALS[style])


def business_id(serial: int) -> str:
    """A valid Finnish business id (Y-tunnus) for a made-up company number."""
    while True:
        digits = f"{serial:07d}"
        remainder = sum(int(d) * w for d, w in zip(digits, (7, 9, 10, 5, 8, 4, 2))) % 11
        if remainder != 1:
            return f"{digits}-{0 if remainder == 0 else 11 - remainder}"
        serial += 1


def office_tenants(count: int, lines_per_year: int = 2_000) -> list[Tenant]:
    """An accounting office's clients: half on Fennoa, 30 % on Netvisor, 20 % on Procountor.

    The office's Netvisor partner and its Procountor API client are shared; the Procountor companies
    differ only by their API keys, so they share the client's rate limit."""
    tenants = []
    for i in range(count):
        style = "fennoa" if i % 10 < 5 else "netvisor" if i % 10 < 8 else "procountor"
        key = f"office_{i:03d}"
        creds = {
            k: f"{v}-{key}" if k not in ("partner_id", "partner_key") else v for k, v in CREDENTIALS[style].items()
        }
        if style == "procountor":
            creds.update(OFFICE_PROCOUNTOR_CLIENT)
        profile = CompanyProfile(
            key,
            f"Client {i:03d} Oy",
            business_id(1_000_000 + 37 * i),
            FISCAL_YEARS,
            lines_per_year=lines_per_year,
            seed=100 + i,
        )
        tenants.append(Tenant(style, profile, creds))
    return tenants


def env_name(tenant: Tenant, key: str) -> str:
    """The variable holding one credential: per company, except an API client's own credentials,
    which are one variable per client (PROCOUNTOR_<CLIENT_ID>_CLIENT_SECRET) for all its companies."""
    if key in CLIENT_CREDENTIALS.get(tenant.erp, ()):
        client = re.sub(r"[^A-Z0-9]+", "_", tenant.credentials["client_id"].upper()).strip("_")
        return f"{tenant.erp.upper()}_{client}_{key.upper()}"
    return f"{tenant.profile.key.upper()}_{key.upper()}"


def companies_file(tenants: list[Tenant], url: str, throttled: tuple[str, ...] = ()) -> tuple[dict, dict[str, str]]:
    """companies.yaml content for these tenants at `url`, and the environment holding their secrets.

    The ERPs in `throttled` keep their connector's default request cap (Procountor: 18/s per API
    client, shared by its companies); the others are uncapped, since the bulk simulator has no limit."""
    env: dict[str, str] = {}
    companies = []
    for t in tenants:
        names = {}
        for key, value in t.credentials.items():
            names[key] = env_name(t, key)
            if env.setdefault(names[key], value) != value:
                raise ValueError(f"{names[key]} would hold two different values ({t.profile.key}: {key})")
        company = {
            "id": t.profile.key,
            "name": t.profile.name,
            "business_id": t.profile.business_id,
            "erp": t.erp,
            "base_url": url + MOUNTS[t.erp],
            "credentials": names,
        }
        if t.erp not in throttled:
            company["requests_per_second"] = 1_000_000
        companies.append(company)
    return {"fiscal_years": {"first": FISCAL_YEARS[0][1].year}, "companies": companies}, env
