"""The benchmark fixture: one company per ERP style with three fiscal years of a given size.

Sizes count ledger lines per fiscal year. Every contender gets the same tenants, credentials and
fiscal years, served by the simulator in bulk mode (responses rendered once, then from memory).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from connectors.fiscal import FiscalPeriod
from simulator.books import CompanyProfile
from simulator.catalogue import Tenant

SIZES = {"S": 10_000, "M": 100_000, "L": 1_000_000}
STYLES = ("fennoa", "netvisor", "procountor")
FISCAL_YEARS = ((date(2023, 1, 1), date(2023, 12, 31)), (date(2024, 1, 1), date(2024, 12, 31)),
                (date(2025, 1, 1), date(2025, 12, 31)))
# The books are as of mid-January 2026, so all three fiscal years are complete.
AS_OF = date(2026, 1, 15)
CREDENTIALS = {
    "fennoa": {"username": "bench-api", "api_key": "bench-key"},
    "netvisor": {"customer_id": "BENCH-CUST", "customer_key": "bench-customer-key",
                 "partner_id": "BENCH-PARTNER", "partner_key": "bench-partner-key"},
    "procountor": {"client_id": "bench-client", "client_secret": "bench-secret", "api_key": "bench-api-key"},
}
MOUNTS = {"fennoa": "/fennoa/api", "netvisor": "/netvisor", "procountor": "/procountor/api"}


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
    profile = CompanyProfile(f"bench_{style}", "Bench Oy", "2345678-0", FISCAL_YEARS,
                             lines_per_year=SIZES[size], seed=5)
    return Tenant(style, profile, CREDENTIALS[style])
