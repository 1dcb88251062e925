"""Netvisor's ledger decoder: raw text collected while the XML streams, converted column by column.

The columnar conversion must give exactly what the per-value rules give (money as DECIMAL, never a
float; Finnish dates; statuses in lower case), name the window, voucher and line of the first bad
value when it fails, and refuse what an XML parser must not act on (DTDs, entities). The ledger's
windows in flight are bounded by the workers, not by the ledger's size.
"""

from __future__ import annotations

import socket
import threading
from concurrent.futures import Future
from datetime import date
from decimal import Decimal

import httpx
import pyarrow as pa
import pytest

from connectors import netvisor, offload
from connectors.errors import BadResponseError
from connectors.fiscal import FiscalPeriod
from connectors.http import RetryPolicy
from connectors.netvisor import NetvisorClient, decode_ledger_window

OK = "<Root><ResponseStatus><Status>OK</Status></ResponseStatus><Vouchers>"
END = "</Vouchers></Root>"
WEEK = FiscalPeriod("7", date(2025, 2, 1), date(2025, 2, 8))  # one ledger window: the probe
PREFIX = "netvisor company 'acme', endpoint 'accountingledger': window 2025-02-01..2025-02-08"


def voucher(key: str, *lines: str, day: str = "3.2.2025", attrs: str = ' status="valid"', head: str = "") -> str:
    return (
        f"<Voucher{attrs}><NetvisorKey>{key}</NetvisorKey><VoucherDate>{day}</VoucherDate>"
        f"<VoucherNumber>{key}0</VoucherNumber>{head}{''.join(lines)}</Voucher>"
    )


def line(key: str, amount: str, account: str = "3000", extra: str = "", attrs: str = "") -> str:
    return (
        f"<VoucherLine{attrs}><NetvisorKey>{key}</NetvisorKey><LineSum>{amount}</LineSum>"
        f"<AccountNumber>{account}</AccountNumber>{extra}</VoucherLine>"
    )


def decode(*vouchers: str) -> pa.Table:
    content = (OK + "".join(vouchers) + END).encode()
    return pa.Table.from_batches(decode_ledger_window("acme", content, WEEK, WEEK.start, WEEK.end))


def error(*vouchers: str) -> str:
    with pytest.raises(BadResponseError) as err:
        decode(*vouchers)
    return str(err.value)


LINE_1 = ["valid", "0100", Decimal("1234.56"), Decimal("25.50"), "KOMY", None]
LINE_2 = ["invalidated", "2939", Decimal("-1234.56"), None, None, "ALV"]


def test_columns_hold_the_values_the_per_value_rules_give():
    rows = decode(
        voucher(
            "77",
            line("1", " 1234,56 ", " 0100 ", "<VatPercent>25,5</VatPercent><VatCode>KOMY</VatCode>", ' status="Valid"'),
            line("2", "-1234,56", "2939", "<VatCode>-</VatCode><Description> ALV </Description>"),
            attrs=' status="INVALIDATED"',
            head='<VoucherClass netvisorKey="3"> MY Myyntilasku </VoucherClass>',
        ),
        voucher("78", line("1", "0,10"), line("2", "-0,10"), day="2025-02-08", attrs=""),
    ).to_pylist()
    fields = ["voucher_key", "voucher_date", "voucher_status", "voucher_class", "voucher_class_key", "line_number"]
    fields += ["line_status", "account_number", "line_sum", "vat_percent", "vat_code", "description"]
    assert {(r["company_id"], r["fiscal_year"], r["period_id"]) for r in rows} == {("acme", 2025, "7")}
    assert [[r[f] for f in fields] for r in rows] == [
        ["77", date(2025, 2, 3), "invalidated", "MY Myyntilasku", "3", 1, *LINE_1],
        ["77", date(2025, 2, 3), "invalidated", "MY Myyntilasku", "3", 2, *LINE_2],
        # an ISO date is read as the per-value rules read it; no status attribute is a valid voucher
        ["78", date(2025, 2, 8), "valid", None, None, 1, "valid", "3000", Decimal("0.10"), None, None, None],
        ["78", date(2025, 2, 8), "valid", None, None, 2, "valid", "3000", Decimal("-0.10"), None, None, None],
    ]


def test_money_is_decimal_to_the_cent_at_the_largest_amount_the_warehouse_holds():
    table = decode(voucher("1", line("1", "9999999999999999,99"), line("2", "-9999999999999999,99"), line("3", "0,01")))
    assert table.schema.field("line_sum").type == pa.decimal128(18, 2)
    assert table.column("line_sum").to_pylist() == [
        Decimal("9999999999999999.99"),
        Decimal("-9999999999999999.99"),
        Decimal("0.01"),
    ]  # a float holds neither the first two nor their sum with 0.01


def test_lines_keep_their_voucher_and_dimensions_across_chunk_boundaries(monkeypatch):
    cost_centre = (
        "<Dimension><DimensionName>Kustannuspaikka</DimensionName><DimensionItem>{}</DimensionItem></Dimension>"
    )
    vouchers = [
        voucher(str(v), *(line(f"{v}{n}", f"{n},00", extra=cost_centre.format(v * 10 + n)) for n in range(1, 4)))
        for v in range(1, 8)
    ]
    whole = decode(*vouchers)
    monkeypatch.setattr(netvisor, "CHUNK_LINES", 4)
    content = (OK + "".join(vouchers) + END).encode()
    batches = decode_ledger_window("acme", content, WEEK, WEEK.start, WEEK.end)
    assert len(batches) > 1 and pa.Table.from_batches(batches).equals(whole)
    rows = whole.to_pylist()
    assert [(r["voucher_key"], r["line_number"]) for r in rows][:4] == [("1", 1), ("1", 2), ("1", 3), ("2", 1)]
    assert [r["dimensions"] for r in rows][-1] == [{"name": "Kustannuspaikka", "item": "73"}]


@pytest.mark.parametrize(
    ("bad_voucher", "where", "why"),
    [
        (voucher("9", line("1", "1,00"), day="30.2.2025"), "voucher 9", "VoucherDate: '30.2.2025' is not a valid date"),
        (voucher("9", line("1", "1,00"), day="9.2.2025"), "voucher 9",
         "VoucherDate 2025-02-09 is outside the requested window 2025-02-01..2025-02-08"),
        (voucher("9", line("1", "1,00"), line("2", "1,00", "12-34")), "voucher 9, line 2",
         "AccountNumber: '12-34' is not an account number"),
        (voucher("9", line("1", "1,234")), "voucher 9, line 1", "LineSum: '1,234' has more than two decimals"),
        (voucher("9", line("1", "1,00", extra="<VatPercent>1000</VatPercent>")), "voucher 9, line 1",
         "VatPercent: '1000' does not fit DECIMAL(5,2)"),
        (voucher("9", line("1", "1e400")), "voucher 9, line 1", "LineSum: '1e400' does not fit DECIMAL(18,2)"),
    ],
    ids=["impossible-date", "outside-window", "account", "three-decimals", "vat-percent", "huge"],
)  # fmt: skip
def test_a_value_the_columns_refuse_is_named_by_window_voucher_and_line(bad_voucher, where, why):
    good = voucher("8", line("1", "5,00"), line("2", "-5,00"))
    assert error(good, bad_voucher) == f"{PREFIX}, {where}: {why}"


def test_the_first_bad_value_in_the_answer_is_the_one_named():
    bad_amount = voucher("1", line("1", "x"))
    bad_shape = voucher("2", line("1", "1,00", extra="<Dimension><DimensionName>P</DimensionName></Dimension>"))
    assert error(bad_amount, bad_shape) == f"{PREFIX}, voucher 1, line 1: LineSum: 'x' is not a number"
    assert error(bad_shape, bad_amount) == f"{PREFIX}, voucher 2, line 1: a Dimension without DimensionItem"


# -- what the XML parser must not do ------------------------------------------------------------------

LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE Root [<!ENTITY a "lol">'
    + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9))
    + "]>"
)


def billion_laughs() -> bytes:
    return (LAUGHS + OK + voucher("1", line("1", "1,00", extra="<Description>&j;</Description>")) + END).encode()


def external_entity(port: int) -> bytes:
    dtd = (
        f'<?xml version="1.0"?><!-- a comment first --><!DOCTYPE Root [<!ENTITY x SYSTEM "http://127.0.0.1:{port}/x">]>'
    )
    return (dtd + OK + voucher("1", line("1", "1,00", extra="<Description>&x;</Description>")) + END).encode()


@pytest.fixture
def listener():
    """A local TCP port that records whether anything connected to it."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    connected: list[object] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                connected.append(server.accept())
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1], connected
    stop.set()
    thread.join()
    server.close()


def test_a_dtd_is_refused_before_any_entity_is_declared_or_fetched(listener):
    port, connected = listener
    for content in (billion_laughs(), external_entity(port)):
        with pytest.raises(BadResponseError) as err:
            decode_ledger_window("acme", content, WEEK, WEEK.start, WEEK.end)
        assert str(err.value).startswith(f"{PREFIX}: the answer declares a DTD;")
    assert connected == []


def test_the_parser_itself_expands_no_entity_bomb_and_fetches_nothing(listener):
    # the second line of defence, under the DTD check: expat's amplification limit, no external entities
    import xml.etree.ElementTree as ET

    port, connected = listener
    for content in (billion_laughs(), external_entity(port)):
        with pytest.raises(ET.ParseError):
            for _ in netvisor._vouchers(content):
                pass
    assert connected == []


def test_a_ledger_answer_with_a_dtd_is_a_named_error_asked_for_once():
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, content=billion_laughs())

    nv = NetvisorClient(
        "acme", "http://nv.test", "c", "ck", "p", "pk", "1234567-1",
        retry=RetryPolicy(max_attempts=3, base_delay=0.0), sleep=lambda s: None,
        transport=httpx.MockTransport(handler),
    )  # fmt: skip
    with pytest.raises(BadResponseError) as err:
        list(nv.ledger(WEEK))
    assert str(err.value).startswith("netvisor company 'acme', endpoint 'accountingledger': ")
    assert "declares a DTD" in str(err.value) and len(sent) == 1  # refused, not retried as damage


@pytest.mark.parametrize("resource", ["accountlist.nv", "accountingperiodlist.nv"])
def test_any_answer_with_a_dtd_is_a_named_error_asked_for_once(resource, listener):
    port, connected = listener
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, content=external_entity(port))

    nv = NetvisorClient(
        "acme", "http://nv.test", "c", "ck", "p", "pk", "1234567-1",
        retry=RetryPolicy(max_attempts=3, base_delay=0.0), sleep=lambda s: None,
        transport=httpx.MockTransport(handler),
    )  # fmt: skip
    with pytest.raises(BadResponseError) as err:
        nv.get(resource)
    endpoint = resource.removesuffix(".nv")
    assert str(err.value).startswith(f"netvisor company 'acme', endpoint '{endpoint}': the answer declares a DTD;")
    assert len(sent) == 1 and connected == []


def test_a_doctype_in_text_is_not_a_dtd():
    rows = decode(voucher("1", line("1", "1,00", extra="<Description>&lt;!DOCTYPE x&gt;</Description>")))
    assert rows.column("description").to_pylist() == ["<!DOCTYPE x>"]


# -- windows in flight ------------------------------------------------------------------------------------


class Deferred(Future):
    """A decode that runs only when its result is asked for, as a busy worker would deliver it."""

    def __init__(self, fn, args):
        super().__init__()
        self.fn, self.args = fn, args

    def result(self, timeout=None):
        if not self.done():
            try:
                self.set_result(self.fn(*self.args))
            except Exception as exc:
                self.set_exception(exc)
        return super().result(timeout)


@pytest.mark.parametrize("workers", [0, 1, 2])
def test_windows_in_flight_are_bounded_by_the_workers_not_by_the_ledger(monkeypatch, workers):
    year = FiscalPeriod("7", date(2025, 1, 1), date(2025, 12, 31))
    fetched, submitted, collected, most = [0], [0], [0], [0]

    def handler(request: httpx.Request) -> httpx.Response:
        fetched[0] += 1
        start = date.fromisoformat(request.url.params["startdate"])
        return httpx.Response(200, text=OK + voucher("1", line("1", "1,00"), day=f"{start:%d.%m.%Y}") + END)

    def submit(fn, *args, offload: bool):
        submitted[0] += 1
        most[0] = max(most[0], submitted[0] - collected[0])
        return Deferred(fn, args)

    def result(future, *where):
        collected[0] += 1
        return future.result()

    monkeypatch.setenv(offload.WORKERS_ENV, str(workers))
    monkeypatch.setattr(offload, "submit", submit)
    monkeypatch.setattr(offload, "result", result)
    nv = NetvisorClient(
        "acme", "http://nv.test", "c", "ck", "p", "pk", "1234567-1", transport=httpx.MockTransport(handler)
    )
    batches = list(nv.ledger(year))
    assert len(batches) == fetched[0] == 13  # the probe, then one window a month
    assert most[0] == workers + 1  # one queued per worker, whatever the number of windows


def test_netvisor_takes_the_shared_worker_count(monkeypatch):
    monkeypatch.delenv(offload.WORKERS_ENV, raising=False)
    monkeypatch.setattr(offload.os, "sched_getaffinity", lambda _pid: set(range(2)))
    assert netvisor.decode_workers() == 1
    monkeypatch.setenv(offload.WORKERS_ENV, "0")
    assert netvisor.decode_workers() == 0


def test_large_windows_alternate_between_a_worker_and_this_process_once_the_worker_is_up(monkeypatch):
    year = FiscalPeriod("7", date(2025, 1, 1), date(2025, 12, 31))
    started: Future = Future()
    sent: list[tuple[date, bool]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        start = date.fromisoformat(request.url.params["startdate"])
        return httpx.Response(200, text=OK + voucher("1", line("1", "1,00"), day=f"{start:%d.%m.%Y}") + END)

    def submit(fn, *args, offload: bool):
        sent.append((args[3], offload))
        if len(sent) == 2:  # the worker is up once two windows were decoded here
            started.set_result(0)
        return Deferred(fn, args)

    monkeypatch.setenv(offload.WORKERS_ENV, "1")
    monkeypatch.setattr(netvisor, "OFFLOAD_BYTES", 0)
    monkeypatch.setattr(offload, "submit", submit)
    monkeypatch.setattr(offload, "ready", started.done)
    nv = NetvisorClient(
        "acme", "http://nv.test", "c", "ck", "p", "pk", "1234567-1", transport=httpx.MockTransport(handler)
    )
    batches = list(nv.ledger(year))
    months = [1, *range(1, 13)]  # the probe, then one window a month: yielded in order either way
    assert [b.column("voucher_date").to_pylist()[0].month for b in batches] == months
    assert [start.month for start, _ in sent] == months
    assert [away for _, away in sent] == [False, False] + [True, False] * 5 + [True]


def test_the_default_leaves_one_core_to_the_fetching_process(monkeypatch):
    monkeypatch.delenv(offload.WORKERS_ENV, raising=False)
    for cores, workers in ((1, 0), (2, 1), (3, 2), (16, 2)):
        monkeypatch.setattr(offload.os, "sched_getaffinity", lambda _pid, n=cores: set(range(n)))
        assert offload.worker_count() == workers
    monkeypatch.setenv(offload.WORKERS_ENV, "3")
    assert offload.worker_count() == 3


def test_a_window_without_vouchers_is_one_empty_batch():
    (batch,) = decode_ledger_window("acme", (OK + END).encode(), WEEK, WEEK.start, WEEK.end)
    assert batch.num_rows == 0 and batch.schema == netvisor.SCHEMAS["ledger"]
