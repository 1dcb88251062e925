"""One benchmark stage in its own process: `python -m bench.stages <style> <stage> <base_url> <out_dir>`.

Stages per ERP style: `fetch` (the ledger's requests with the connector's concurrency, bytes
discarded), `parse` (those bytes, held in memory, decoded into column lists), `write` (the
ledger as Arrow, written to Parquet), and `extract` (our connector and lake writer end to end,
streaming). Prints one JSON line: seconds, rows (or bytes), requests, peak RSS and CPU seconds.
Baselines replay the exact URLs the connector asks for, so the bulk simulator answers from memory.
"""

from __future__ import annotations

import json
import resource
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from bench.fixture import CREDENTIALS, MOUNTS, periods
from connectors.fiscal import FiscalPeriod
from connectors.netvisor import WindowPlan

CONCURRENCY = 4  # the connectors' default
FENNOA_PAGE = 500
PROCOUNTOR_PAGE = 200


def client(base: str, style: str) -> httpx.Client:
    # The bulk simulator keys its memory by who asks, so baselines name the same company as our client.
    auth = (CREDENTIALS["fennoa"]["username"], CREDENTIALS["fennoa"]["api_key"]) if style == "fennoa" else None
    headers = (
        {"X-Netvisor-Authentication-CustomerId": CREDENTIALS["netvisor"]["customer_id"]}
        if style == "netvisor"
        else {"Authorization": "Bearer bench_procountor.baseline"}
        if style == "procountor"
        else {}
    )
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    return httpx.Client(base_url=base + MOUNTS[style] + "/", auth=auth, headers=headers, timeout=300, limits=limits)


def fennoa_pages(http: httpx.Client, period: FiscalPeriod) -> Iterator[bytes]:
    path = f"accounting_api/get/ledger/{period.start.isoformat()}/{period.end.isoformat()}"
    first = http.get(path, params={"page": 1, "limit": FENNOA_PAGE}).raise_for_status()
    yield first.content
    count = orjson.loads(first.content)["pagination"]["pagesCount"]
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        yield from pool.map(
            lambda p: http.get(path, params={"page": p, "limit": FENNOA_PAGE}).raise_for_status().content,
            range(2, count + 1),
        )


def netvisor_pages(http: httpx.Client, period: FiscalPeriod) -> Iterator[bytes]:
    # One request at a time per customer, as the Netvisor contract demands; the query as the connector signs it.
    # The connector's own window plan, fed the same answers, asks for the same windows.
    plan = WindowPlan(period.start, period.end)
    while (window := plan.next()) is not None:
        body = (
            http.get(
                f"accountingledger.nv?startdate={window[0].isoformat()}&enddate={window[1].isoformat()}&voucherstatus=1"
            )
            .raise_for_status()
            .content
        )
        plan.answered(window, len(body))
        yield body


def procountor_pages(http: httpx.Client, period: FiscalPeriod) -> Iterator[bytes]:
    from connectors.procountor import ProcountorClient

    ids, page, listed = [], 0, 0
    while True:
        body = (
            http.get(
                "ledgerreceipts",
                params={
                    "startDate": period.start.isoformat(),
                    "endDate": period.end.isoformat(),
                    "page": page,
                    "size": PROCOUNTOR_PAGE,
                    "orderById": "ASC",
                },
            )
            .raise_for_status()
            .content
        )
        yield body
        data = orjson.loads(body)
        listed += len(data["results"])
        ids += [r["id"] for r in data["results"] if ProcountorClient._exclusion(r) is None]  # as the connector does
        if not data["results"] or listed >= data["meta"]["totalCount"]:
            break
        page += 1
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        yield from pool.map(lambda i: http.get(f"ledgerreceipts/{i}").raise_for_status().content, ids)


PAGES = {"fennoa": fennoa_pages, "netvisor": netvisor_pages, "procountor": procountor_pages}


def parse_fennoa(body: bytes, columns: dict[str, list]) -> None:
    rows = orjson.loads(body)["data"]
    for name in ("statement_id", "account", "date", "debit", "credit", "description", "series", "number", "dimensions"):
        columns.setdefault(name, []).extend([r.get(name) for r in rows])


def parse_netvisor(body: bytes, columns: dict[str, list]) -> None:
    import io

    for _, element in ET.iterparse(io.BytesIO(body), events=("end",)):
        tag = element.tag
        if tag == "VoucherLine":
            for child in element:
                columns.setdefault(child.tag, []).append(child.text)
        elif tag == "Voucher":
            columns.setdefault("voucher", []).append(element.findtext("NetvisorKey"))
            element.clear()


def parse_procountor(body: bytes, columns: dict[str, list]) -> None:
    data = orjson.loads(body)
    for t in data.get("transactions") or ():  # list pages have none
        for name in ("account", "accountingValue", "vatPercent", "vatType", "description", "dimensionItemValues"):
            columns.setdefault(name, []).append(t.get(name))
        columns.setdefault("receipt", []).append(data["id"])


PARSE = {"fennoa": parse_fennoa, "netvisor": parse_netvisor, "procountor": parse_procountor}


def our_client(style: str, base: str):
    from connectors.fennoa import FennoaClient
    from connectors.netvisor import NetvisorClient
    from connectors.procountor import ProcountorClient

    c, url = CREDENTIALS[style], base + MOUNTS[style]
    if style == "fennoa":
        return FennoaClient("bench_fennoa", url, c["username"], c["api_key"])
    if style == "netvisor":
        return NetvisorClient(
            "bench_netvisor", url, c["customer_id"], c["customer_key"], c["partner_id"], c["partner_key"], "2345678-0"
        )
    return ProcountorClient(
        "bench_procountor", url, c["client_id"], c["client_secret"], c["api_key"], requests_per_second=None
    )


def ledger_schema(style: str) -> pa.Schema:
    import importlib

    return importlib.import_module(f"connectors.{style}").SCHEMAS["ledger"]


def run(style: str, stage: str, base: str, out: Path) -> dict:
    rows = requests = 0
    elapsed = 0.0
    if stage == "fetch":
        with client(base, style) as http:
            start = time.perf_counter()
            for period in periods():
                for body in PAGES[style](http, period):
                    rows += len(body)
                    requests += 1
            elapsed = time.perf_counter() - start
    elif stage == "parse":
        with client(base, style) as http:
            for period in periods():  # one fiscal year's bytes in memory at a time; only decoding is timed
                bodies = list(PAGES[style](http, period))
                columns: dict[str, list] = {}
                start = time.perf_counter()
                for body in bodies:
                    PARSE[style](body, columns)
                elapsed += time.perf_counter() - start
                rows += max((len(v) for v in columns.values()), default=0)
                requests += len(bodies)
                del bodies, columns
    elif stage == "write":
        schema = ledger_schema(style)
        with our_client(style, base) as api:
            for period in periods():
                table = pa.Table.from_batches(list(api.ledger(period)), schema=schema)
                start = time.perf_counter()
                with tempfile.TemporaryDirectory(dir=out) as tmp:
                    with pq.ParquetWriter(Path(tmp) / "part-0.parquet", schema, compression="zstd") as writer:
                        writer.write_table(table)
                elapsed += time.perf_counter() - start
                rows += table.num_rows
                del table
    elif stage == "extract":
        from assets.lake import partition_dir, write_partition

        schema = ledger_schema(style)
        start = time.perf_counter()
        files = []
        with our_client(style, base) as api:
            for period in periods():
                directory = partition_dir(out, style, "ledger", f"bench_{style}", period.key)
                written = write_partition(directory, schema, api.ledger(period))
                rows += written.rows
                files.append(str(written.path))
            requests = api.pages_fetched
        elapsed = time.perf_counter() - start
        if style == "fennoa":  # the figures every contender on this style must reproduce (after measure)
            return {"seconds": elapsed, "rows": rows, "requests": requests, "gate_files": files}
    else:
        raise SystemExit(f"unknown stage {stage!r}")
    return {"seconds": elapsed, "rows": rows, "requests": requests}


def measure(result: dict) -> dict:
    from connectors import offload

    workers = offload.shutdown(wait=True)  # reaped, so their CPU time and peak RSS count below
    usage, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    # VmHWM belongs to this process image; ru_maxrss would carry the parent's peak across fork + exec.
    with open("/proc/self/status") as status:
        hwm_kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    # Children report only the largest one's peak: count it once per decode worker (an upper bound).
    worker_mb = round(workers * children.ru_maxrss / 1024, 1) if workers else 0.0
    return {
        **result,
        "peak_rss_mb": round(hwm_kb / 1024 + worker_mb, 1),
        "decode_workers": workers,
        "workers_peak_rss_mb": worker_mb,
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime + children.ru_utime + children.ru_stime, 2),
    }


if __name__ == "__main__":
    style_, stage_, base_, out_ = sys.argv[1:5]
    measured = measure(run(style_, stage_, base_, Path(out_)))
    if "gate_files" in measured:  # read back only now: its memory and time are not the extraction's
        from bench.gate import gate_figures

        measured["gate"] = gate_figures(measured.pop("gate_files"))
    print(json.dumps(measured))
