"""The simulator's own list of demo companies: their books, ERP and API credentials.

This is the *other side* of `companies.yaml`: the simulator knows which credentials each tenant
accepts, just as a real ERP does. Credentials can be overridden from the environment so tests can
run with distinctive values.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

from simulator.books import Books, CompanyProfile, generate_books

# The simulator's "today": books are generated up to this date so that demo numbers are the same
# on every run and every day. Override with NORDLEDGER_SIM_AS_OF=YYYY-MM-DD.
DEFAULT_AS_OF = date(2026, 11, 15)


@dataclass(frozen=True)
class Tenant:
    erp: str
    profile: CompanyProfile
    credentials: dict[str, str] = field(hash=False)


def _fy(*spans: tuple[str, str]) -> tuple[tuple[date, date], ...]:
    return tuple((date.fromisoformat(a), date.fromisoformat(b)) for a, b in spans)


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


def demo_tenants() -> list[Tenant]:
    return [
        Tenant(
            "fennoa",
            CompanyProfile(
                key="aurora",
                name="Aurora Analytics Oy",
                business_id="2345678-0",
                seed=11,
                fiscal_years=_fy(
                    ("2024-01-01", "2024-12-31"), ("2025-01-01", "2025-12-31"), ("2026-01-01", "2026-12-31")
                ),
                locked_through=date(2025, 12, 31),
                # stock at the 2025 year end; December 2025's VAT and payroll paid in January 2026
                statutory_cases=(("2025", "inventory"), ("2025", "taxes_unpaid")),
            ),
            {
                "username": _env("AURORA_FENNOA_USER", "aurora-api"),
                "api_key": _env("AURORA_FENNOA_API_KEY", "sim-aurora-key"),
            },
        ),
        Tenant(
            "fennoa",
            CompanyProfile(
                key="borealis",
                name="Borealis Bakery Oy",
                business_id="5678901-2",
                seed=23,
                lines_per_year=1800,
                fiscal_years=_fy(
                    ("2023-07-01", "2024-06-30"),
                    ("2024-07-01", "2025-06-30"),
                    ("2025-07-01", "2026-06-30"),
                    ("2026-07-01", "2027-06-30"),
                ),
                locked_through=date(2025, 6, 30),
                statutory_cases=(("2027", "no_opening"),),  # 2025-26 not closed yet: 2026-27 has no opening
            ),
            {
                "username": _env("BOREALIS_FENNOA_USER", "borealis-api"),
                "api_key": _env("BOREALIS_FENNOA_API_KEY", "sim-borealis-key"),
            },
        ),
        Tenant(
            "fennoa",
            CompanyProfile(
                key="cirrus",
                name="Cirrus Consulting Oy",
                business_id="4567890-7",
                seed=37,
                lines_per_year=1500,
                # An 18-month first fiscal year, then calendar years.
                fiscal_years=_fy(("2024-07-01", "2025-12-31"), ("2026-01-01", "2026-12-31")),
                locked_through=None,
                # the 18-month year opens with the year before's result on 2371, moved to 2251 in October
                # 2024, and ends with a depreciation difference and a provision
                statutory_cases=(("2025", "result_on_2371"), ("2025", "appropriations")),
            ),
            {
                "username": _env("CIRRUS_FENNOA_USER", "cirrus-api"),
                "api_key": _env("CIRRUS_FENNOA_API_KEY", "sim-cirrus-key"),
            },
        ),
        Tenant(
            "netvisor",
            CompanyProfile(
                key="dahlia",
                name="Dahlia Design Oy",
                business_id="6789012-4",
                seed=41,
                lines_per_year=1800,
                fiscal_years=_fy(
                    ("2024-01-01", "2024-12-31"), ("2025-01-01", "2025-12-31"), ("2026-01-01", "2026-12-31")
                ),
                locked_through=date(2025, 12, 31),
                # insurance prepaid over the 2024 year end; income tax for 2024 and 2025
                statutory_cases=(("2024", "prepaid_expense"), ("2024", "income_tax"), ("2025", "income_tax")),
            ),
            {
                "customer_id": _env("DAHLIA_NETVISOR_CUSTOMER_ID", "DAHLIA-CUST"),
                "customer_key": _env("DAHLIA_NETVISOR_CUSTOMER_KEY", "sim-dahlia-customer-key"),
                "partner_id": _env("NETVISOR_PARTNER_ID", "NORDLEDGER-PARTNER"),
                "partner_key": _env("NETVISOR_PARTNER_KEY", "sim-partner-key"),
            },
        ),
        Tenant(
            "procountor",
            CompanyProfile(
                key="eira",
                name="Eira Engineering Oy",
                business_id="1234567-1",
                seed=53,
                lines_per_year=700,
                fiscal_years=_fy(
                    ("2023-05-01", "2024-04-30"),
                    ("2024-05-01", "2025-04-30"),
                    ("2025-05-01", "2026-04-30"),
                    ("2026-05-01", "2027-04-30"),
                ),
                locked_through=date(2025, 4, 30),
                rich_cases=True,
                statutory_cases=(("2027", "group_items"),),  # a long-term loan and group interest in 2026-27
            ),
            {
                "client_id": _env("PROCOUNTOR_CLIENT_ID", "eira-client"),
                "client_secret": _env("PROCOUNTOR_CLIENT_SECRET", "sim-eira-secret"),
                "api_key": _env("EIRA_PROCOUNTOR_API_KEY", "sim-eira-api-key"),
            },
        ),
    ]


def nag_client_credentials() -> tuple[str, str]:
    """The client id and secret the Nordic API Gateway simulator accepts."""
    return _env("NAG_CLIENT_ID", "nordledger-sim-client"), _env("NAG_CLIENT_SECRET", "sim-nag-secret")


def as_of() -> date:
    raw = os.environ.get("NORDLEDGER_SIM_AS_OF")
    return date.fromisoformat(raw) if raw else DEFAULT_AS_OF


@lru_cache(maxsize=64)
def books_for(profile: CompanyProfile, on: date) -> Books:
    return generate_books(profile, on)
