"""Ledger pages decoded in worker processes give the same rows, numbers and errors as decoding in place."""

import json
import multiprocessing
from datetime import date

import httpx
import pyarrow as pa
import pytest

from connectors import fennoa, netvisor, offload
from connectors.errors import BadResponseError
from connectors.fiscal import FiscalPeriod, periods_for_key
from simulator.catalogue import demo_tenants

FENNOA = next(t for t in demo_tenants() if t.profile.key == "borealis")
NETVISOR = next(t for t in demo_tenants() if t.profile.key == "dahlia")


@pytest.fixture
def workers(monkeypatch):
    """Two decode workers and thresholds low enough that the demo books are offloaded."""
    monkeypatch.setenv(offload.WORKERS_ENV, "2")
    monkeypatch.setattr(fennoa, "OFFLOAD_PAGES", 1)
    monkeypatch.setattr(netvisor, "OFFLOAD_BYTES", 0)
    offload.starting().result()  # up: the connectors decode in place until a worker is
    yield
    offload.shutdown()


def decode_workers_alive() -> int:
    return sum(p.name.startswith("SpawnProcess") for p in multiprocessing.active_children())


def fennoa_ledger(url: str) -> tuple[pa.Table, int]:
    creds = FENNOA.credentials
    with fennoa.FennoaClient("borealis", url, creds["username"], creds["api_key"], page_size=40) as c:
        period = periods_for_key(c.fiscal_periods(), "2026")[0]
        return pa.Table.from_batches(list(c.ledger(period)), schema=fennoa.SCHEMAS["ledger"]), c.pages_fetched


def test_fennoa_pages_decoded_in_workers_equal_pages_decoded_here(fennoa_url, workers, monkeypatch):
    monkeypatch.setattr(fennoa, "CHUNK_ROWS", 200)  # many chunks: statements straddle batch boundaries
    offloaded, requests = fennoa_ledger(fennoa_url)
    assert decode_workers_alive() >= 1
    monkeypatch.setenv(offload.WORKERS_ENV, "0")
    local, local_requests = fennoa_ledger(fennoa_url)
    assert offloaded.num_rows > 1000 and requests == local_requests > 25
    assert offloaded.equals(local)  # same rows, same order, same line numbers across chunk boundaries
    keys = list(zip(offloaded.column("statement_id").to_pylist(), offloaded.column("line_number").to_pylist()))
    assert len(set(keys)) == len(keys) and min(n for _, n in keys) == 1


def paged_ledger(pages: dict[int, list[dict]], garbled_once: set[int] = frozenset()):
    """A Fennoa stand-in serving the given ledger pages; pages in `garbled_once` are cut short once."""
    asked: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/periods"):
            return httpx.Response(
                200, json={"status": "OK", "data": [{"id": 1, "start_date": "2025-01-01", "end_date": "2025-12-31"}]}
            )
        if request.url.path.endswith("/locking_periods"):
            return httpx.Response(200, json={"status": "OK", "data": []})
        page = int(request.url.params["page"])
        asked.append(page)
        body = json.dumps({"status": "ok", "pagination": {"pagesCount": len(pages)}, "data": pages[page]}).encode()
        if page in garbled_once and asked.count(page) == 1:
            body = body[: len(body) // 2]
        return httpx.Response(200, content=body)

    return httpx.MockTransport(handler), asked


def line(statement: int, account: str, debit, credit=0) -> dict:
    return {"statement_id": statement, "account": account, "date": "2025-03-01", "debit": debit, "credit": credit}


def test_a_bad_amount_decoded_in_a_worker_names_company_endpoint_page_and_row(workers):
    pages = {1: [line(1, "3000", 10)], 2: [line(2, "3000", 5)], 3: [line(3, "1910", 7), line(3, "3000", "abc")]}
    transport, _ = paged_ledger(pages)
    with fennoa.FennoaClient("acme", "http://fennoa.test/api", "u", "k", transport=transport) as c:
        with pytest.raises(BadResponseError) as err:
            list(c.ledger(c.fiscal_periods()[0]))
    assert decode_workers_alive() >= 1
    assert str(err.value) == "fennoa company 'acme', endpoint 'ledger': page 3, row 1: debit: 'abc' is not a number"
    assert (err.value.company, err.value.endpoint) == ("acme", "ledger")


def test_a_garbled_page_met_in_a_worker_is_fetched_again_and_nothing_is_lost(workers):
    pages = {p: [line(p, "3000", p), line(p, "1910", 0, p)] for p in range(1, 7)}
    transport, asked = paged_ledger(pages, garbled_once={4})
    with fennoa.FennoaClient("acme", "http://fennoa.test/api", "u", "k", page_size=2, transport=transport) as c:
        table = pa.Table.from_batches(list(c.ledger(c.fiscal_periods()[0])))
    assert asked.count(4) == 2
    assert table.column("statement_id").to_pylist() == [str(p) for p in range(1, 7) for _ in (1, 2)]
    assert sum(table.column("debit").to_pylist()) == sum(table.column("credit").to_pylist()) == 21


def netvisor_ledger(url: str) -> pa.Table:
    c = NETVISOR.credentials
    with netvisor.NetvisorClient(
        "dahlia",
        url,
        c["customer_id"],
        c["customer_key"],
        c["partner_id"],
        c["partner_key"],
        NETVISOR.profile.business_id,
    ) as nv:
        period = nv.fiscal_periods()[1]
        return pa.Table.from_batches(list(nv.ledger(period)), schema=netvisor.SCHEMAS["ledger"])


def test_netvisor_months_decoded_in_workers_equal_months_decoded_here(simulator_url, workers, monkeypatch):
    offloaded = netvisor_ledger(f"{simulator_url}/netvisor")
    assert decode_workers_alive() >= 1
    monkeypatch.setenv(offload.WORKERS_ENV, "0")
    local = netvisor_ledger(f"{simulator_url}/netvisor")
    assert offloaded.num_rows > 1000 and offloaded.equals(local)


def test_a_bad_netvisor_line_decoded_in_a_worker_names_the_voucher(workers):
    xml = (
        "<Root><ResponseStatus><Status>OK</Status></ResponseStatus><Vouchers>"
        '<Voucher status="valid"><NetvisorKey>77</NetvisorKey><VoucherDate>3.2.2025</VoucherDate>'
        "<VoucherLine><NetvisorKey>1</NetvisorKey><LineSum>1O,00</LineSum><AccountNumber>3000</AccountNumber>"
        "</VoucherLine></Voucher></Vouchers></Root>"
    )
    nv = netvisor.NetvisorClient(
        "acme",
        "http://nv.test",
        "c",
        "ck",
        "p",
        "pk",
        "1234567-1",
        transport=httpx.MockTransport(lambda r: httpx.Response(200, text=xml)),
    )
    with pytest.raises(BadResponseError) as err:
        list(nv.ledger(FiscalPeriod("1", date(2025, 2, 1), date(2025, 2, 28))))
    assert decode_workers_alive() >= 1
    assert str(err.value) == (
        "netvisor company 'acme', endpoint 'accountingledger': window 2025-02-01..2025-02-08, voucher 77, line 1: "
        "LineSum: '1O,00' is not a number"
    )


def test_worker_count_is_configurable_and_checked(monkeypatch):
    monkeypatch.setenv(offload.WORKERS_ENV, "0")
    assert offload.worker_count() == 0
    assert offload.submit(sum, [1, 2], offload=True).result() == 3  # no workers: decoded here
    monkeypatch.setenv(offload.WORKERS_ENV, "two")
    with pytest.raises(ValueError, match="NORDLEDGER_DECODE_WORKERS must be a whole number, got 'two'"):
        offload.worker_count()


def test_a_worker_that_dies_is_an_error_naming_the_company_and_the_pool_recovers(workers):
    import os

    from connectors.errors import TransientError

    dying = offload.submit(os._exit, 9, offload=True)  # as if killed for memory mid-decode
    with pytest.raises(TransientError) as err:
        offload.result(dying, "fennoa", "acme", "ledger")
    assert str(err.value).startswith("fennoa company 'acme', endpoint 'ledger': a decode worker process stopped")
    assert offload.result(offload.submit(sum, [2, 3], offload=True), "fennoa", "acme", "ledger") == 5
