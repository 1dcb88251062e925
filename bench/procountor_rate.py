"""Procountor at its published rate limit: `python -m bench.procountor_rate <base_url> <out_dir> <rate> <years>`.

One process reads the ledger of the first `years` fiscal years of the bench company the way a real
user's pipeline does: the client is built by the spec from companies.yaml-style settings with
`requests_per_second: <rate>` (the connector's own limiter, shared per API client), and each fiscal
year is written to a lake partition. The simulator behind `base_url` enforces Procountor's published
20 requests/s per API client (429 with Retry-After beyond it), answering from a fresh bulk store, so
every request is counted against the limit. Prints one JSON line: seconds, rows, requests as the
simulator counted them, the bound 1.2 x requests / rate, retries (429s and other transient faults),
peak RSS and CPU.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from bench.fixture import CREDENTIALS, MOUNTS, periods
from bench.stages import measure, sim_counts
from connectors.http import RetryPolicy
from connectors.procountor import SCHEMAS, SPEC
from connectors.spec import ClientSettings

COMPANY = "bench_procountor"
SLACK = 1.2  # the bound: 1.2 x the time the requests take at the rate


def rated_client(base: str, rate: float) -> Any:
    """The client as the pipeline builds it for a company with `requests_per_second: rate`."""
    return SPEC.build_client(
        ClientSettings(
            company_id=COMPANY,
            business_id="2345678-0",
            base_url=base + MOUNTS["procountor"],
            secrets=CREDENTIALS["procountor"],
            options={},
            retry=RetryPolicy(),
            requests_per_second=rate,
        )
    )


def run(base: str, out: Path, rate: float, years: int) -> dict:
    from assets.lake import partition_dir, write_partition

    rows = 0
    per_year: list[dict[str, Any]] = []
    elapsed = 0.0
    with rated_client(base, rate) as api:
        for period in periods()[:years]:
            httpx.delete(f"{base}/_sim/requests").raise_for_status()
            start = time.perf_counter()
            directory = partition_dir(out, "procountor", "ledger", COMPANY, period.key)
            written = write_partition(directory, SCHEMAS["ledger"], api.ledger(period))
            seconds = time.perf_counter() - start
            counted = sim_counts(httpx.get(f"{base}/_sim/requests").raise_for_status().json())
            elapsed += seconds
            rows += written.rows
            per_year.append(
                {
                    "fiscal_year": period.key,
                    "seconds": round(seconds, 2),
                    **counted,
                    "bound_s": round(SLACK * counted["requests"] / rate, 2),
                    "within_bound": seconds <= SLACK * counted["requests"] / rate,
                }
            )
        retries = api.session.retries
    requests = sum(int(y["requests"]) for y in per_year)
    return {
        "seconds": elapsed,
        "rows": rows,
        "requests": requests,
        "rate": rate,
        "bound_s": round(SLACK * requests / rate, 2),
        "within_bound": elapsed <= SLACK * requests / rate,
        "retries": retries,
        "rated_years": per_year,
    }


if __name__ == "__main__":
    base_, out_, rate_, years_ = sys.argv[1:5]
    print(json.dumps(measure(run(base_, Path(out_), float(rate_), int(years_)))))
