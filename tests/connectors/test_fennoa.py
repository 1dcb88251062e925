"""The Fennoa connector against the simulator over loopback HTTP."""

import json
from collections import Counter
from decimal import Decimal

import httpx
import pyarrow as pa
import pytest

from connectors.errors import AuthenticationError, BadResponseError, TransientError
from connectors.fennoa import LOCKING_PERIODS, SCHEMAS, FennoaClient
from connectors.fiscal import periods_for_key
from connectors.http import RetryPolicy
from connectors.parsing import text
from connectors.spec import Degradation
from simulator.catalogue import as_of, books_for, demo_tenants

TENANT = next(t for t in demo_tenants() if t.profile.key == "borealis")


def client(url, **kwargs) -> FennoaClient:
    return FennoaClient("borealis", url, TENANT.credentials["username"], TENANT.credentials["api_key"], **kwargs)


def test_paging_returns_every_ledger_row_exactly_once(fennoa_url):
    books = books_for(TENANT.profile, as_of())
    with client(fennoa_url, page_size=37, max_concurrency=3) as c:
        period = periods_for_key(c.fiscal_periods(), "2026")[0]
        table = pa.Table.from_batches(list(c.ledger(period)), schema=SCHEMAS["ledger"])
        pages = c.pages_fetched
    expected = Counter(
        (str(v.id), line.account, line.amount)
        for v in books.valid_vouchers
        if not v.is_opening and period.start <= v.date <= period.end
        for line in v.lines
    )
    got = Counter(
        (row["statement_id"], row["account_number"], row["debit"] - row["credit"]) for row in table.to_pylist()
    )
    assert got == expected
    assert pages >= table.num_rows // 37  # really paged
    keys = list(zip(table.column("statement_id").to_pylist(), table.column("line_number").to_pylist()))
    assert len(keys) == len(set(keys))
    assert table.schema.field("debit").type == pa.decimal128(18, 2)
    assert table.schema.field("account_number").type == pa.string()


def test_fiscal_periods_come_from_the_erp_with_lock_state(fennoa_url):
    with client(fennoa_url) as c:
        periods = c.fiscal_periods()
    assert [(p.start.isoformat(), p.end.isoformat(), p.key) for p in periods] == [
        ("2023-07-01", "2024-06-30", "2024"),
        ("2024-07-01", "2025-06-30", "2025"),
        ("2025-07-01", "2026-06-30", "2026"),
        ("2026-07-01", "2027-06-30", "2027"),
    ]
    assert [p.locked for p in periods] == [True, True, False, False]


def test_wrong_credentials_name_the_company_and_endpoint_but_not_the_secret(fennoa_url):
    secret = "definitely-wrong-key-42"
    with FennoaClient("borealis", fennoa_url, "borealis-api", secret) as c:
        with pytest.raises(AuthenticationError) as err:
            list(c.accounts())
    message = str(err.value)
    assert "fennoa company 'borealis', endpoint 'accounts'" in message
    assert "authentication failed" in message
    assert secret not in message


def test_rate_limit_with_retry_after_is_retried_and_succeeds(simulator_url, fennoa_url):
    slept = []
    httpx.post(f"{simulator_url}/_sim/faults", json={"api": "fennoa", "status": 429, "count": 2, "retry_after": "3"})
    with client(fennoa_url, sleep=slept.append) as c:
        rows = pa.Table.from_batches(list(c.accounts())).num_rows
        assert c.session.retries == 2
    assert rows > 10
    assert slept == [3.0, 3.0]  # honoured Retry-After


def test_a_fault_that_never_clears_fails_after_bounded_attempts(simulator_url, fennoa_url):
    httpx.post(f"{simulator_url}/_sim/faults", json={"api": "fennoa", "status": 503, "count": 10})
    try:
        with client(fennoa_url, sleep=lambda s: None, retry=RetryPolicy(max_attempts=4)) as c:
            with pytest.raises(TransientError) as err:
                list(c.vatcodes())
            assert c.session.requests_sent == 4
    finally:
        httpx.delete(f"{simulator_url}/_sim/faults")
    assert "fennoa company 'borealis', endpoint 'vatcodes': gave up after 4 attempts; last error: HTTP 503" in str(
        err.value
    )


def test_concurrency_above_the_server_limit_is_absorbed_by_retries():
    from simulator.server import serve_in_thread

    with serve_in_thread(fennoa_max_active=1) as url:
        with client(f"{url}/fennoa/api", page_size=20, max_concurrency=6, sleep=lambda s: None) as c:
            period = periods_for_key(c.fiscal_periods(), "2025")[0]
            rows = sum(b.num_rows for b in c.ledger(period))
    books = books_for(TENANT.profile, as_of())
    assert rows == sum(
        len(v.lines) for v in books.valid_vouchers if not v.is_opening and period.start <= v.date <= period.end
    )


def test_bad_amount_in_a_response_is_a_clear_error():
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/periods"):
            return httpx.Response(
                200, json={"status": "OK", "data": [{"id": 1, "start_date": "2025-01-01", "end_date": "2025-12-31"}]}
            )
        if request.url.path.endswith("/locking_periods"):
            return httpx.Response(200, json={"status": "OK", "data": []})
        return httpx.Response(
            200,
            json={
                "status": "ok",
                "pagination": {"pagesCount": 1},
                "data": [{"statement_id": 5, "account": "3000", "date": "2025-02-01", "debit": "abc", "credit": 0}],
            },
        )

    with FennoaClient("acme", "http://fennoa.test/api", "u", "k", transport=httpx.MockTransport(handler)) as c:
        with pytest.raises(BadResponseError) as err:
            list(c.ledger(c.fiscal_periods()[0]))
    assert "fennoa company 'acme', endpoint 'ledger': page 1, row 0: debit: 'abc' is not a number" in str(err.value)


def test_amounts_keep_exact_decimals(fennoa_url):
    with client(fennoa_url) as c:
        period = c.fiscal_periods()[1]
        table = pa.Table.from_batches(list(c.opening_balances(period)))
    total = sum(
        (d - cr for d, cr in zip(table.column("debit").to_pylist(), table.column("credit").to_pylist())), Decimal(0)
    )
    assert total == 0  # opening balances balance to the cent


def test_fast_amount_path_equals_exact_decimal_parsing():
    import random

    from connectors.fennoa import _amounts

    rng = random.Random(7)
    texts = [f"{rng.randint(-(10**12), 10**12) / 100:.2f}" for _ in range(50_000)]
    texts += ["0.10", "0.20", "-0.01", "9999999999999.99", "1234567.05"]
    assert _amounts([float(t) for t in texts]).to_pylist() == [Decimal(t) for t in texts]
    for not_exact in ([1.234], [1e13], [1000000000000.001]):
        with pytest.raises(ValueError):
            _amounts(not_exact)


def _one_page(rows: list[dict]):
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/periods"):
            return httpx.Response(
                200, json={"status": "OK", "data": [{"id": 1, "start_date": "2025-01-01", "end_date": "2025-12-31"}]}
            )
        if request.url.path.endswith("/locking_periods"):
            return httpx.Response(200, json={"status": "OK", "data": []})
        return httpx.Response(200, content=json.dumps({"status": "ok", "pagination": {"pagesCount": 1}, "data": rows}))

    return httpx.MockTransport(handler)


def test_a_page_the_fast_path_cannot_vouch_for_is_decoded_exactly():
    # Amounts as text with a comma and an amount too large for a double to pin down to the cent
    # send the page to the exact decoder; the result is still exact and numbered in order.
    rows = [
        {"statement_id": 1, "account": "3000", "date": "2025-02-01", "debit": "12,50", "credit": 0},
        {"statement_id": 1, "account": "1700", "date": "2025-02-01", "debit": 0, "credit": 12.5},
        {"statement_id": 2, "account": "1910", "date": "2025-02-02", "debit": 12345678901234.56, "credit": 0},
    ]
    with FennoaClient("acme", "http://fennoa.test/api", "u", "k", transport=_one_page(rows)) as c:
        table = pa.Table.from_batches(list(c.ledger(c.fiscal_periods()[0])))
    assert table.column("debit").to_pylist() == [Decimal("12.50"), Decimal("0.00"), Decimal("12345678901234.56")]
    assert table.column("credit").to_pylist() == [Decimal("0.00"), Decimal("12.50"), Decimal("0.00")]
    assert table.column("line_number").to_pylist() == [1, 2, 1]


def test_three_decimals_are_an_error_naming_page_and_row():
    rows = [
        {"statement_id": 1, "account": "3000", "date": "2025-02-01", "debit": 1.5, "credit": 0},
        {"statement_id": 1, "account": "1700", "date": "2025-02-01", "debit": 0, "credit": 1.505},
    ]
    with FennoaClient("acme", "http://fennoa.test/api", "u", "k", transport=_one_page(rows)) as c:
        with pytest.raises(BadResponseError) as err:
            list(c.ledger(c.fiscal_periods()[0]))
    assert "endpoint 'ledger': page 1, row 1: credit: '1.505' has more than two decimals" in str(err.value)


# -- optional resources: accounting_api/get/locking_periods ---------------------------------------------


@pytest.fixture
def tamper(simulator_url):
    """Tamper with the shared simulator's answers for one test: tamper(api, company, kind)."""

    def add(api: str, company: str, kind: str) -> None:
        httpx.post(f"{simulator_url}/_sim/tamper", json={"api": api, "company": company, "kind": kind})

    yield add
    httpx.delete(f"{simulator_url}/_sim/tamper")


def _books_rows(period) -> int:
    books = books_for(TENANT.profile, as_of())
    return sum(len(v.lines) for v in books.valid_vouchers if not v.is_opening and period.start <= v.date <= period.end)


def test_a_server_without_locking_periods_is_read_in_full_with_the_lock_state_unknown():
    from simulator.fennoa import FennoaSimulator
    from simulator.server import serve_in_thread

    with serve_in_thread(app=FennoaSimulator(demo_tenants(), locking_periods=False).app()) as url:
        with client(url) as c:
            periods = pa.Table.from_batches(list(c.periods())).to_pylist()
            period = periods_for_key(c.fiscal_periods(), "2026")[0]
            rows = sum(b.num_rows for b in c.ledger(period))
            degraded = list(c.degraded)
    assert [(p["start_date"].isoformat(), p["end_date"].isoformat(), p["fiscal_year"]) for p in periods] == [
        ("2023-07-01", "2024-06-30", 2024),
        ("2024-07-01", "2025-06-30", 2025),
        ("2025-07-01", "2026-06-30", 2026),
        ("2026-07-01", "2027-06-30", 2027),
    ]
    assert [p["is_locked"] for p in periods] == [None, None, None, None]  # unknown: neither open nor closed
    assert rows == _books_rows(period)  # the books themselves are all there
    assert degraded == [Degradation(LOCKING_PERIODS, "HTTP 404: the server has no such resource")]


def test_a_tenant_without_locking_periods_degrades_only_that_tenant(fennoa_url, tamper):
    tamper("fennoa", "borealis", "no_locking_periods")
    with client(fennoa_url) as c:
        locks = pa.Table.from_batches(list(c.periods())).column("is_locked").to_pylist()
        assert [d.resource for d in c.degraded] == [LOCKING_PERIODS]
    aurora = next(t for t in demo_tenants() if t.profile.key == "aurora")
    with FennoaClient("aurora", fennoa_url, aurora.credentials["username"], aurora.credentials["api_key"]) as c:
        assert pa.Table.from_batches(list(c.periods())).column("is_locked").to_pylist() == [True, True, False]
        assert c.degraded == []
    assert locks == [None, None, None, None]


def _fennoa(lock_status: int, lock_body: object = None):
    """Periods, a locking_periods answer of `lock_status`, and an empty ledger."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/periods"):
            return httpx.Response(
                200, json={"status": "OK", "data": [{"id": 1, "start_date": "2025-01-01", "end_date": "2025-12-31"}]}
            )
        if request.url.path.endswith("/locking_periods"):
            if lock_body is None:
                return httpx.Response(lock_status, text="<html>Not Found</html>")
            return httpx.Response(lock_status, json=lock_body)
        return httpx.Response(200, json={"status": "ok", "pagination": {"pagesCount": 1}, "data": []})

    return FennoaClient("acme", "http://fennoa.test/api", "u", "k", transport=httpx.MockTransport(handler))


def test_a_forbidden_locking_periods_degrades_and_a_bare_404_page_is_no_envelope_error():
    with _fennoa(403) as c:
        assert [p["is_locked"] for p in pa.Table.from_batches(list(c.periods())).to_pylist()] == [None]
        assert c.degraded == [Degradation(LOCKING_PERIODS, "HTTP 403: the API user may not read it")]
        assert c.session.requests_sent == 2  # not retried
    with _fennoa(404) as c:  # an HTML 404 page, not Fennoa's envelope
        assert [p["is_locked"] for p in pa.Table.from_batches(list(c.periods())).to_pylist()] == [None]
        assert [d.cause for d in c.degraded] == ["HTTP 404: the server has no such resource"]


def test_locking_periods_failing_otherwise_fails_loudly():
    with _fennoa(401) as c, pytest.raises(AuthenticationError) as auth:
        c.fiscal_periods()
    assert "fennoa company 'acme', endpoint 'locking_periods': authentication failed (HTTP 401)" in str(auth.value)
    with _fennoa(400, {"status": "ERROR", "errors": ["bad"]}) as c, pytest.raises(BadResponseError) as bad:
        c.fiscal_periods()
    assert "endpoint 'locking_periods': HTTP 400, status 'ERROR': bad" in str(bad.value)
    assert c.degraded == []
    shapes = [
        ([{"code": "accounting_locked", "value": "31.13.2025"}], "row 0: value: '31.13.2025' is not a valid date"),
        ([{"code": "books_frozen", "value": "2025-12-31"}], "row 0: unknown lock code 'books_frozen'"),
        ([{"value": "2025-12-31"}], "row 0: missing field 'code'"),
        (["accounting_locked"], "row 0: expected an object, got str"),
    ]
    for data, cause in shapes:
        with _fennoa(200, {"status": "OK", "data": data}) as c, pytest.raises(BadResponseError) as err:
            c.fiscal_periods()
        assert f"fennoa company 'acme', endpoint 'locking_periods': {cause}" in str(err.value)


def test_lock_dates_lock_the_years_ending_on_or_before_the_latest_accounting_lock():
    body = {
        "status": "OK",
        "data": [
            {"code": "sales_invoices_locked", "value": "2026-03-31"},  # an invoice-register lock: not the books
            {"code": "accounting_locked", "value": "2024-12-31"},
            {"code": "accounting_locked", "value": "2025-12-31"},
        ],
    }
    with _fennoa(200, body) as c:
        assert [p.locked for p in c.fiscal_periods()] == [True]
        assert c.degraded == []


# -- text fields that arrive as JSON numbers ---------------------------------------------------------------


def test_numeric_text_fields_from_the_simulator_are_read_as_text(fennoa_url, tamper):
    tamper("fennoa", "borealis", "numeric_text")
    with client(fennoa_url, page_size=200) as c:
        period = periods_for_key(c.fiscal_periods(), "2026")[0]
        table = pa.Table.from_batches(list(c.ledger(period)), schema=SCHEMAS["ledger"])
        accounts = pa.Table.from_batches(list(c.accounts())).to_pylist()
    books = books_for(TENANT.profile, as_of())
    vouchers = [v for v in books.valid_vouchers if not v.is_opening and period.start <= v.date <= period.end]
    assert table.num_rows == sum(len(v.lines) for v in vouchers)
    ids = {"GL": "1", "IN": "2", "PU": "3", "PJ": "5"}
    assert Counter(table.column("series").to_pylist()) == Counter(ids[v.series] for v in vouchers for _ in v.lines)
    first = table.slice(0, 1).to_pylist()[0]
    assert first["description"] == str(first["statement_number"])
    assert accounts[0]["account_name"] == accounts[0]["account_number"]
    debit = sum(table.column("debit").to_pylist(), Decimal(0))
    assert debit == sum((line.amount for v in vouchers for line in v.lines if line.amount > 0), Decimal(0))


def test_a_text_field_of_another_json_type_is_an_error_naming_page_and_row():
    rows = [
        {"statement_id": 1, "account": "3000", "date": "2025-02-01", "debit": 1.5, "credit": 0, "series": 1},
        {"statement_id": 1, "account": "1700", "date": "2025-02-01", "debit": 0, "credit": 1.5, "series": True},
    ]
    with FennoaClient("acme", "http://fennoa.test/api", "u", "k", transport=_one_page(rows)) as c:
        with pytest.raises(BadResponseError) as err:
            list(c.ledger(c.fiscal_periods()[0]))
    assert "fennoa company 'acme', endpoint 'ledger': page 1, row 1: series: expected text, got True" in str(err.value)

    rows[1]["series"] = 2.5  # a number with a fraction: kept as written, exactly
    rows[0]["description"] = 12
    with FennoaClient("acme", "http://fennoa.test/api", "u", "k", transport=_one_page(rows)) as c:
        table = pa.Table.from_batches(list(c.ledger(c.fiscal_periods()[0])))
    assert table.column("series").to_pylist() == ["1", "2.5"]
    assert table.column("description").to_pylist() == ["12", None]


def test_text_parser():
    assert text(None, "f") is None
    assert text("GL", "f") == "GL"
    assert text(12, "f") == "12"
    assert text(Decimal("1.50"), "f") == "1.50"
    for bad, why in ((True, "expected text, got True"), ({"a": 1}, "a JSON dict"), ([1], "a JSON list")):
        with pytest.raises(ValueError, match=why):
            text(bad, "f")
    with pytest.raises(ValueError, match="decoded as a float"):
        text(1.5, "f")
