"""Bounded requests: a deadline per attempt (connect to last byte) and a cap on the body's size."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pyarrow as pa
import pytest

from connectors import fennoa, nag, netvisor, procountor, registry
from connectors.errors import BadResponseError, ResponseTooLargeError, TransientError
from connectors.fennoa import FennoaClient
from connectors.fiscal import FiscalPeriod
from connectors.http import MB, ApiSession, RetryPolicy
from connectors.netvisor import NetvisorClient
from connectors.settings import load_settings


class _Slow(BaseHTTPRequestHandler):
    """`/drip`: a 200 whose body arrives one byte every 0.1 s; `/stall`: headers, then silence."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "200")
        self.end_headers()
        self.wfile.flush()
        stop: threading.Event = self.server.stop  # type: ignore[attr-defined]
        try:
            for _ in range(200):  # at most 20 s, ended early when the client hangs up or the test ends
                if stop.wait(0.1 if self.path.startswith("/drip") else 2.0):
                    return
                self.wfile.write(b" ")
                self.wfile.flush()
        except OSError:
            return

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def slow_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Slow)
    server.daemon_threads = True
    server.block_on_close = False
    server.stop = threading.Event()  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.stop.set()  # type: ignore[attr-defined]
    server.shutdown()
    server.server_close()


def test_a_server_dripping_bytes_cannot_hold_an_attempt_past_its_deadline(slow_url):
    policy = RetryPolicy(max_attempts=2, timeout=1.0, deadline=0.3)
    with FennoaClient("acme", f"{slow_url}/drip", "u", "k", retry=policy, sleep=lambda s: None) as c:
        with pytest.raises(TransientError) as err:
            list(c.accounts())
        assert c.session.requests_sent == 2  # a deadline overrun is transient: retried, then given up
    message = str(err.value)
    assert message.startswith("fennoa company 'acme', endpoint 'accounts': gave up after 2 attempts")
    assert "no complete answer within the 0.3 s deadline of an attempt" in message


def test_a_server_that_goes_silent_after_the_headers_is_cut_off_within_the_deadline(slow_url):
    policy = RetryPolicy(max_attempts=1, timeout=30.0, deadline=0.3)
    with FennoaClient("acme", f"{slow_url}/stall", "u", "k", retry=policy, sleep=lambda s: None) as c:
        with pytest.raises(TransientError) as err:
            list(c.accounts())
    assert "fennoa company 'acme', endpoint 'accounts'" in str(err.value)
    assert "timed out after 0.3 s" in str(err.value)  # each read waits at most the deadline, not 30 s


def _big(request: httpx.Request, size: int, chunked: bool) -> httpx.Response:
    if chunked:  # no Content-Length: the cap is found while reading
        return httpx.Response(200, content=iter([b" " * (size // 4)] * 4))
    return httpx.Response(200, content=b" " * size)


@pytest.mark.parametrize("chunked", [False, True], ids=["declared-length", "chunked"])
def test_a_body_over_the_cap_is_a_bad_response_at_once_not_retried(chunked):
    transport = httpx.MockTransport(lambda r: _big(r, 2 * MB, chunked))
    policy = RetryPolicy(max_body_bytes=1 * MB)
    with FennoaClient("acme", "http://fennoa.test/api", "u", "k", retry=policy, transport=transport) as c:
        with pytest.raises(ResponseTooLargeError) as err:
            list(c.accounts())
        assert c.session.requests_sent == 1
    assert isinstance(err.value, BadResponseError)
    assert str(err.value).startswith(
        "fennoa company 'acme', endpoint 'accounts': response body exceeds the limit of 1 MB"
    )


def test_a_body_under_the_cap_arrives_whole_as_bytes():
    body = b'{"status": "OK", "data": [{"code": "3000", "name": "Myynti"}]}'
    transport = httpx.MockTransport(lambda r: httpx.Response(200, content=iter([body[:10], body[10:]])))
    with FennoaClient("acme", "http://fennoa.test/api", "u", "k", transport=transport) as c:
        assert c._raw("accounting_api/get/accounts", "accounts", {}) == body
        assert pa.Table.from_batches(list(c.accounts())).column("account_number").to_pylist() == ["3000"]


def test_per_request_cap_overrides_the_sessions():
    transport = httpx.MockTransport(lambda r: _big(r, 2000, False))
    with ApiSession("x", "acme", "http://x.test", transport=transport) as session:
        assert len(session.request("GET", "/a", endpoint="a").content) == 2000
        with pytest.raises(ResponseTooLargeError):
            session.request("GET", "/a", endpoint="a", max_body_bytes=1000)


def test_each_api_has_its_own_default_bounds_and_the_spec_declares_them():
    clients = {
        "fennoa": FennoaClient("acme", "http://f.test", "u", "k"),
        "netvisor": NetvisorClient("acme", "http://n.test", "c", "ck", "p", "pk", "1234567-1"),
        "procountor": procountor.ProcountorClient("acme", "http://p.test", "id", "secret", "key"),
    }
    for name, client in clients.items():
        spec = registry.erp(name)
        with client:
            assert (client.session.deadline, client.session.max_body_bytes) == (
                spec.default_deadline,
                spec.max_body_bytes,
            )
    assert (fennoa.DEADLINE, fennoa.MAX_BODY_BYTES) == (120.0, 32 * MB)
    assert (netvisor.DEADLINE, netvisor.MAX_BODY_BYTES) == (600.0, 128 * MB)
    assert registry.aggregator("nordic_api_gateway").max_body_bytes == nag.MAX_BODY_BYTES


def test_policy_overrides_the_api_defaults_and_a_default_deadline_never_undercuts_the_timeout():
    def session(policy: RetryPolicy) -> ApiSession:
        return ApiSession("x", "acme", "http://x.test", retry=policy, deadline=120.0, max_body_bytes=32 * MB)

    assert (session(RetryPolicy()).deadline, session(RetryPolicy()).max_body_bytes) == (120.0, 32 * MB)
    assert session(RetryPolicy(deadline=5.0, max_body_bytes=MB)).deadline == 5.0
    assert session(RetryPolicy(deadline=5.0, max_body_bytes=MB)).max_body_bytes == MB
    assert session(RetryPolicy(timeout=300.0)).deadline == 300.0  # raised timeout, default deadline
    assert session(RetryPolicy(timeout=300.0, deadline=10.0)).deadline == 10.0  # an explicit deadline holds


def test_environment_overrides_are_read_in_settings():
    settings = load_settings({"NORDLEDGER_HTTP_DEADLINE": "45", "NORDLEDGER_HTTP_MAX_BODY_MB": "8"})
    assert (settings.http_deadline, settings.http_max_body_mb, settings.http_max_body_bytes) == (45.0, 8.0, 8 * MB)
    unset = load_settings({})
    assert (unset.http_deadline, unset.http_max_body_bytes) == (None, None)
    for bad in ("0", "-1", "soon"):
        with pytest.raises(ValueError, match="NORDLEDGER_HTTP_DEADLINE"):
            load_settings({"NORDLEDGER_HTTP_DEADLINE": bad})


# -- Netvisor: a window over the cap is asked for again in halves ------------------------------------


def _voucher(day: date, pad: int) -> str:
    key = day.strftime("%Y%m%d")
    return (
        f'<Voucher status="valid"><NetvisorKey>{key}</NetvisorKey><VoucherDate>{day.day}.{day.month}.{day.year}'
        f"</VoucherDate><VoucherDescription>{'x' * pad}</VoucherDescription>"
        f"<VoucherLine><NetvisorKey>{key}1</NetvisorKey><LineSum>10,00</LineSum><AccountNumber>3000</AccountNumber>"
        f"</VoucherLine><VoucherLine><NetvisorKey>{key}2</NetvisorKey><LineSum>-10,00</LineSum>"
        "<AccountNumber>1910</AccountNumber></VoucherLine></Voucher>"
    )


def _daily_ledger(pad_for: dict[date, int]) -> tuple[httpx.MockTransport, list[tuple[date, date]]]:
    asked: list[tuple[date, date]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        start = date.fromisoformat(request.url.params["startdate"])
        end = date.fromisoformat(request.url.params["enddate"])
        asked.append((start, end))
        days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
        vouchers = "".join(_voucher(d, pad_for.get(d, 700)) for d in days)
        xml = f"<Root><ResponseStatus><Status>OK</Status></ResponseStatus><Vouchers>{vouchers}</Vouchers></Root>"
        return httpx.Response(200, content=xml.encode())

    return httpx.MockTransport(handler), asked


FEBRUARY = FiscalPeriod("1", date(2025, 2, 1), date(2025, 2, 28))


def test_a_netvisor_window_over_the_cap_is_asked_for_in_halves_losing_and_repeating_nothing(monkeypatch):
    monkeypatch.setattr(netvisor, "WINDOW_BYTES", 3000)  # the plan aims well under the cap, as in production
    transport, asked = _daily_ledger({})
    policy = RetryPolicy(max_body_bytes=5000)  # about five days of this company's answers
    with NetvisorClient("acme", "http://nv.test", "c", "ck", "p", "pk", "1", retry=policy, transport=transport) as nv:
        table = pa.Table.from_batches(list(nv.ledger(FEBRUARY)), schema=netvisor.SCHEMAS["ledger"])
    assert asked[:2] == [(date(2025, 2, 1), date(2025, 2, 8)), (date(2025, 2, 1), date(2025, 2, 4))]
    dates = table.column("voucher_date").to_pylist()
    assert sorted(set(dates)) == [FEBRUARY.start + timedelta(days=i) for i in range(28)]
    assert len(dates) == 56 and len(set(table.column("line_key").to_pylist())) == 56  # nothing lost or repeated
    answered = asked[1:]  # after the probe, every window was answered and they tile the month
    assert answered[0][0] == FEBRUARY.start and answered[-1][1] == FEBRUARY.end
    assert all(b[0] == a[1] + timedelta(days=1) for a, b in itertools.pairwise(answered))


def test_a_single_netvisor_day_over_the_cap_is_an_error_naming_the_day():
    transport, _ = _daily_ledger({date(2025, 2, 3): 20_000})
    policy = RetryPolicy(max_body_bytes=10_000)
    with NetvisorClient("acme", "http://nv.test", "c", "ck", "p", "pk", "1", retry=policy, transport=transport) as nv:
        with pytest.raises(ResponseTooLargeError) as err:
            list(nv.ledger(FEBRUARY))
    assert str(err.value).startswith(
        "netvisor company 'acme', endpoint 'accountingledger': window 2025-02-03 (one day): "
        "response body exceeds the limit of"
    )
