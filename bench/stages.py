"""One benchmark stage in its own process: `python -m bench.stages <style> <stage> <base_url> <out_dir>`.

Stages per ERP style: `fetch` (the ledger's requests with the connector's concurrency, bytes
discarded), `parse` (those bytes, held in memory, decoded into column lists), `write` (the
ledger as Arrow, written to Parquet), and `extract` (our connector and lake writer end to end,
streaming); for Netvisor also `decode_cpu` (our window decoder's CPU against the bare parse loop's,
on the same answers in one process). Prints one JSON line: seconds, rows (or bytes), requests, peak RSS and CPU seconds, and under
`settings` the decoder and library versions used; for Procountor's extract also each fiscal
year's requests as the simulator counted them.
Baselines replay the exact URLs the connector asks for, so the bulk simulator answers from memory
(Procountor: the list pages, then the receipts in the books in batches of 200 ids, 4 at a time).
"""

from __future__ import annotations

import io
import json
import resource
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
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


def netvisor_windows(http: httpx.Client, period: FiscalPeriod) -> Iterator[tuple[tuple[date, date], bytes]]:
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
        yield window, body


def netvisor_pages(http: httpx.Client, period: FiscalPeriod) -> Iterator[bytes]:
    for _, body in netvisor_windows(http, period):
        yield body


def netvisor_decode_cpu(base: str) -> dict:
    """CPU seconds of our window decoder against the bare `iterparse` loop (`parse_netvisor`) on the same
    answers, held in memory, in this one process: the best of three runs of each, interleaved, with the
    cyclic collector paused for ours as the connector pauses it (`connectors.offload`)."""
    from connectors.netvisor import decode_ledger_window
    from connectors.offload import without_cycle_collection

    with client(base, "netvisor") as http:
        answers = [(period, *answer) for period in periods() for answer in netvisor_windows(http, period)]

    def bare() -> int:
        columns: defaultdict[str, list] = defaultdict(list)
        for *_, body in answers:
            parse_netvisor(body, columns)
        return len(columns["line_status"])

    def ours() -> int:
        return sum(
            batch.num_rows
            for period, (start, end), body in answers
            for batch in without_cycle_collection(decode_ledger_window, "bench_netvisor", body, period, start, end)
        )

    cpu: dict[str, list[float]] = {"bare": [], "ours": []}
    rows: dict[str, int] = {}
    for name, decode in (("bare", bare), ("ours", ours)) * 3:
        began = time.process_time()
        rows[name] = decode()
        cpu[name].append(time.process_time() - began)
    if rows["bare"] != rows["ours"]:
        raise SystemExit(f"the bare loop saw {rows['bare']} lines, our decoder {rows['ours']}")
    best = {name: min(times) for name, times in cpu.items()}
    return {
        "seconds": best["ours"],
        "rows": rows["ours"],
        "requests": len(answers),
        "bytes": sum(len(body) for *_, body in answers),
        "bare_cpu_s": round(best["bare"], 3),
        "ours_cpu_s": round(best["ours"], 3),
        "ratio": round(best["ours"] / best["bare"], 3),
    }


def procountor_index(http: httpx.Client, period: FiscalPeriod) -> Iterator[tuple[bytes, list[str], int]]:
    """The receipt list pages as the connector asks for them: each page's bytes, the ids on it of the
    receipts in the books (`receipt_rule`, as the connector decides) and the listing's totalCount."""
    from connectors.procountor import receipt_rule

    page, listed = 0, 0
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
        data = orjson.loads(body)
        total = data["meta"]["totalCount"]
        listed += len(data["results"])
        yield body, [str(r["id"]) for r in data["results"] if receipt_rule.reason_excluded(r) is None], total
        if not data["results"] or listed >= total:
            return
        page += 1


def procountor_pages(http: httpx.Client, period: FiscalPeriod) -> Iterator[bytes]:
    """The list pages, then the receipts in the books read 200 ids a call (in list order), 4 calls at a time."""
    from connectors.procountor import MAX_IDS_PER_CALL

    ids: list[str] = []
    for body, booked, _ in procountor_index(http, period):
        yield body
        ids += booked
    batches = [ids[i : i + MAX_IDS_PER_CALL] for i in range(0, len(ids), MAX_IDS_PER_CALL)]
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        yield from pool.map(
            lambda batch: http.get("ledgerreceipts/" + ",".join(batch)).raise_for_status().content, batches
        )


PAGES = {"fennoa": fennoa_pages, "netvisor": netvisor_pages, "procountor": procountor_pages}


def sim_counts(served: dict[str, int]) -> dict[str, int]:
    """The Procountor requests in a count of the bulk simulator (`GET /_sim/requests`), by kind."""
    mine = {k: v for k, v in served.items() if MOUNTS["procountor"] + "/" in k}
    list_pages = mine.get(f"GET {MOUNTS['procountor']}/ledgerreceipts", 0)
    batches = mine.get(f"GET {MOUNTS['procountor']}/ledgerreceipts/{{id}}", 0)
    tokens = mine.get(f"POST {MOUNTS['procountor']}/oauth/token", 0)
    total = sum(mine.values())
    return {
        "requests": total,
        "list_pages": list_pages,
        "batches": batches,
        "tokens": tokens,
        "other": total - list_pages - batches - tokens,
    }


def procountor_bounds(base: str, per_year: list[dict]) -> list[dict]:
    """Each fiscal year's counted requests against the bound a full read must stay within: the list
    pages its receipts need, plus ceil(receipts in the books / 200) batches, plus 5. The receipts are
    counted from the list pages (replayed from the bulk simulator's memory), not by the client."""
    import math

    from connectors.procountor import MAX_IDS_PER_CALL

    out = []
    with client(base, "procountor") as http:
        for period, counted in zip(periods(), per_year, strict=True):
            listed = receipts = 0
            for _, booked, total in procountor_index(http, period):
                receipts += len(booked)
                listed = total
            bound = max(1, math.ceil(listed / PROCOUNTOR_PAGE)) + math.ceil(receipts / MAX_IDS_PER_CALL) + 5
            out.append(
                {
                    **counted,
                    "listed": listed,
                    "receipts": receipts,
                    "bound": bound,
                    "within_bound": counted["requests"] <= bound,
                }
            )
    return out


def parse_fennoa(body: bytes, columns: dict[str, list]) -> None:
    rows = orjson.loads(body)["data"]
    for name in ("statement_id", "account", "date", "debit", "credit", "description", "series", "number", "dimensions"):
        columns.setdefault(name, []).extend([r.get(name) for r in rows])


def parse_netvisor(body: bytes, columns: dict[str, list]) -> None:
    """The bare stdlib loop: every ledger value as the raw text the XML holds (each line's children,
    its status and its dimensions' name and item; each voucher's head children, status and class
    key), appended to one list per tag. Nothing checked, converted or repeated per line."""
    for _, element in ET.iterparse(io.BytesIO(body), events=("end",)):
        tag = element.tag
        if tag == "VoucherLine":
            columns["line_status"].append(element.get("status"))
            for child in element:
                if child.tag == "Dimension":
                    for part in child:
                        columns[part.tag].append(part.text)
                else:
                    columns[child.tag].append(child.text)
        elif tag == "Voucher":
            columns["voucher_status"].append(element.get("status"))
            for child in element:
                if child.tag == "VoucherClass":
                    columns["voucher_class_key"].append(child.get("netvisorKey"))
                if child.tag != "VoucherLine":
                    columns["voucher_" + child.tag].append(child.text)
            element.clear()


def parse_procountor(body: bytes, columns: dict[str, list]) -> None:
    data = orjson.loads(body)
    if isinstance(data, dict):
        if "results" in data:  # a list page: no transactions
            return
        data = [data]  # a batch of one id answers the receipt itself
    for receipt in data:  # a batch: a list of receipts
        for t in receipt.get("transactions") or ():
            for name in ("account", "accountingValue", "vatPercent", "vatType", "description", "dimensionItemValues"):
                columns.setdefault(name, []).append(t.get(name))
            columns.setdefault("receipt", []).append(receipt["id"])


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
                columns: defaultdict[str, list] = defaultdict(list)
                start = time.perf_counter()
                for body in bodies:
                    PARSE[style](body, columns)
                elapsed += time.perf_counter() - start
                rows += (
                    len(columns["line_status"]) if style == "netvisor" else max(map(len, columns.values()), default=0)
                )
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
    elif stage == "decode_cpu" and style == "netvisor":
        return netvisor_decode_cpu(base)
    elif stage == "extract":
        from assets.lake import partition_dir, write_partition

        schema = ledger_schema(style)
        per_year: list[dict] = []
        counting = 0.0  # time spent asking the simulator for its counts, not the extraction's
        start = time.perf_counter()
        files = []
        with our_client(style, base) as api:
            for period in periods():
                if style == "procountor":
                    began = time.perf_counter()
                    httpx.delete(f"{base}/_sim/requests").raise_for_status()
                    before = api.pages_fetched, api.detail_calls
                    counting += time.perf_counter() - began
                directory = partition_dir(out, style, "ledger", f"bench_{style}", period.key)
                written = write_partition(directory, schema, api.ledger(period))
                rows += written.rows
                files.append(str(written.path))
                if style == "procountor":
                    began = time.perf_counter()
                    served = httpx.get(f"{base}/_sim/requests").raise_for_status().json()
                    per_year.append(
                        {
                            "fiscal_year": period.key,
                            **sim_counts(served),
                            "client_requests": api.pages_fetched - before[0],
                            "client_batches": api.detail_calls - before[1],
                        }
                    )
                    counting += time.perf_counter() - began
            requests = api.pages_fetched
        elapsed = time.perf_counter() - start - counting
        if style == "fennoa":  # the figures every contender on this style must reproduce (after measure)
            return {"seconds": elapsed, "rows": rows, "requests": requests, "gate_files": files}
        if per_year:
            return {"seconds": elapsed, "rows": rows, "requests": requests, "requests_per_year": per_year}
    else:
        raise SystemExit(f"unknown stage {stage!r}")
    return {"seconds": elapsed, "rows": rows, "requests": requests}


def decoders(style: str, stage: str) -> dict:
    """What decodes the answers in this stage and at which versions, recorded with its result
    (`settings` in the result JSON): the baselines and ours must be compared knowingly."""
    import platform
    import pyexpat
    from importlib import metadata

    def version(name: str) -> str | None:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    out: dict = {"python": platform.python_version(), "pyarrow": pa.__version__, "lxml": version("lxml")}
    if stage == "fetch":
        return {**out, "decoder": None, "httpx": httpx.__version__}
    if style != "netvisor":
        return {**out, "decoder": "orjson.loads", "orjson": orjson.__version__}
    parser = {
        "parse": "xml.etree.ElementTree.iterparse (end events, raw text into lists)",
        "write": "connectors.netvisor.decode_ledger_window (untimed: it prepares the table)",
    }.get(
        stage, "connectors.netvisor.decode_ledger_window: xml.etree.ElementTree.XMLParser end events, pyarrow.compute"
    )
    accelerated = ET.XMLParser is getattr(sys.modules.get("_elementtree"), "XMLParser", None)  # C, not Python
    return {**out, "decoder": parser, "elementtree_c_accelerator": accelerated, "expat": pyexpat.EXPAT_VERSION}


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
    measured = {**measure(run(style_, stage_, base_, Path(out_))), "settings": decoders(style_, stage_)}
    if "gate_files" in measured:  # read back only now: its memory and time are not the extraction's
        from bench.gate import gate_figures

        measured["gate"] = gate_figures(measured.pop("gate_files"))
    print(json.dumps(measured))
