"""Procountor: tokens, list + batched details, the books' status rule, dimension splits, derived VAT."""

import json
import math
import time
import uuid
from collections import Counter
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import httpx
import pyarrow as pa
import pytest

from connectors import procountor
from connectors.errors import AuthenticationError, BadResponseError
from connectors.fiscal import FiscalPeriod
from connectors.http import RetryPolicy
from connectors.procountor import BOOKED_STATUSES, UNBOOKED_STATUSES, ProcountorClient
from simulator.catalogue import as_of, books_for, demo_tenants
from simulator.server import serve_in_thread

TENANT = next(t for t in demo_tenants() if t.profile.key == "eira")
CREDS = TENANT.credentials
BOOKS = books_for(TENANT.profile, as_of())
NO_WAIT = RetryPolicy(max_attempts=3, base_delay=0.0, max_delay=0.0)


def client(url, **kwargs) -> ProcountorClient:
    return ProcountorClient("eira", url, CREDS["client_id"], CREDS["client_secret"], CREDS["api_key"], **kwargs)


def book_lines(period: FiscalPeriod) -> list:
    return [line for v in BOOKS.valid_vouchers if period.start <= v.date <= period.end for line in v.lines]


@pytest.fixture(scope="module")
def years(simulator_url):
    """Every fiscal year of eira read in full: (period, table, requests, receipts listed, receipts booked)."""
    out = []
    with client(f"{simulator_url}/procountor/api") as pc:
        for period in pc.fiscal_periods():
            before = pc.pages_fetched
            index = pc.receipt_index(period)
            listing = pc.pages_fetched - before
            table = pa.Table.from_batches(list(pc.ledger(period)))
            booked = {r["receipt_id"] for r in table.to_pylist() if r["is_official"]}
            out.append((period, table, pc.pages_fetched - before - listing, len(index), len(booked)))
    return out


def test_a_year_costs_its_list_pages_plus_one_call_per_200_receipts(years):
    for period, _, detail_requests, listed, booked in years:
        assert booked > 0 and detail_requests == math.ceil(listed / 200) + math.ceil(booked / 200), period


def test_every_booked_receipt_balances_with_the_derived_vat(years):
    totals = Counter()
    for _, table, *_ in years:
        for row in table.to_pylist():
            if row["is_official"]:
                totals[row["receipt_id"]] += row["amount"]
    assert totals and all(v == Decimal("0.00") for v in totals.values())


def test_receipts_in_every_status_outside_the_books_are_kept_with_their_reason_and_no_lines(years):
    rows = [r for _, table, *_ in years for r in table.to_pylist()]
    excluded = [r for r in rows if not r["is_official"]]
    by_status = {r["receipt_status"]: r["exclusion_reason"] for r in excluded if r["receipt_type"] != "SALES_ORDER"}
    assert set(by_status) == set(UNBOOKED_STATUSES) - {"INVOICED"}
    assert all(by_status[s] == UNBOOKED_STATUSES[s] for s in by_status)
    orders = {r["receipt_status"] for r in excluded if r["receipt_type"] == "SALES_ORDER"}
    assert orders == {"APPROVED", "INVOICED"}  # an order is never in the books, whatever its status
    assert all(r["account_number"] is None and r["line_number"] is None for r in excluded)
    booked_statuses = {r["receipt_status"] for r in rows if r["is_official"]}
    assert len(booked_statuses) >= 8 and booked_statuses <= BOOKED_STATUSES


def test_ledger_matches_the_books_line_for_line(years):
    for period, table, *_ in years:
        got = Counter((r["account_number"], r["amount"]) for r in table.to_pylist() if r["is_official"])
        assert got == Counter((line.account, line.amount) for line in book_lines(period)), period


def test_partly_deductible_vat_stays_on_the_expense_account(years):
    rows = [r for _, table, *_ in years for r in table.to_pylist() if r["is_official"]]
    partial = [r for r in rows if r["vat_deduction_percent"] is not None and r["vat_deduction_percent"] < 100]
    assert {r["vat_deduction_percent"] for r in partial} == {Decimal(0), Decimal(50)}
    for net in partial:
        derived = [
            r for r in rows if r["receipt_id"] == net["receipt_id"] and r["derived_from_line"] == net["line_number"]
        ]
        vat = sum(r["amount"] for r in derived)
        assert vat == (net["amount"] * net["vat_percent"] / 100).quantize(Decimal("0.01"), ROUND_HALF_UP)
        kept = sum(r["amount"] for r in derived if r["account_number"] == net["account_number"])
        assert (
            kept == vat - (vat * net["vat_deduction_percent"] / 100).quantize(Decimal("0.01"), ROUND_HALF_UP)
            and kept > 0
        )


def test_a_rows_vat_status_overrides_the_receipts(years):
    overridden = [
        v for v in BOOKS.valid_vouchers if v.series == "IN" and v.id % 7 == 0 and any(x.vat_percent for x in v.lines)
    ]
    assert overridden  # header 'no VAT handling', the VAT row 'domestic': VAT is derived (see the books test)
    rows = [r for _, table, *_ in years for r in table.to_pylist() if r["is_official"]]
    assert {r["vat_status"] for r in rows if r["is_derived_vat"]} == {1}


def test_dimension_splits_reach_the_lines_with_their_amounts(years):
    sim_ids = {}
    for n, (type_id, (_, items)) in enumerate(BOOKS.dimension_types.items()):
        sim_ids[type_id] = 279_000 + n, {code: 777_000 + 10 * n + i for i, (code, _) in enumerate(items)}
    for period, table, *_ in years:
        expected = Counter()
        for line in book_lines(period):
            for type_id, code, amount in line.dimension_amounts():
                dim, items = sim_ids[type_id]
                expected[(line.account, str(dim), str(items[code]), amount)] += 1
        got = Counter(
            (r["account_number"], d["dimension_id"], d["item_id"], d["amount"])
            for r in table.to_pylist()
            if r["is_official"]
            for d in r["dimensions"]
        )
        assert got == expected, period
    split_lines = [line for line in BOOKS.vouchers for line in line.lines if line.splits]
    assert len(split_lines) > 10


def test_edited_receipt_gets_a_new_id_and_the_old_one_is_invalidated(simulator_url):
    edited = [v for v in BOOKS.valid_vouchers if v.superseded_lines]
    assert edited
    with client(f"{simulator_url}/procountor/api") as pc:
        period = next(p for p in pc.fiscal_periods() if p.start <= edited[0].date <= p.end)
        index = pc.receipt_index(period)
    same = [
        r
        for r in index
        if r["receiptNumber"] == edited[0].number
        and r["type"] == "PURCHASE_INVOICE"
        and r["receiptDate"] == edited[0].date.isoformat()
        and r["status"] in BOOKED_STATUSES | {"INVALIDATED"}
    ]
    assert sorted(r["status"] == "INVALIDATED" for r in same) == [False, True]
    assert len({r["id"] for r in same}) == 2


def test_a_token_that_expires_mid_extract_is_renewed_and_the_extract_completes():
    with serve_in_thread(procountor_token_lifetime=0.3) as url:
        # The client's clock stands still, so it only learns of the expiry from the 401.
        with client(f"{url}/procountor/api", clock=lambda: 0.0) as pc:
            tables = [(p, pa.Table.from_batches(list(pc.ledger(p)))) for p in pc.fiscal_periods()]
            assert pc.tokens_issued >= 3
    for period, table in tables:
        got = Counter((r["account_number"], r["amount"]) for r in table.to_pylist() if r["is_official"])
        assert got == Counter((line.account, line.amount) for line in book_lines(period))


def test_token_lifetime_comes_from_expires_in():
    now = [0.0]
    with serve_in_thread(procountor_token_lifetime=600) as url:
        with client(f"{url}/procountor/api", clock=lambda: now[0]) as pc:
            list(pc.accounts())
            now[0] = 600 - 90  # still valid: renewed 60 s before it expires
            list(pc.accounts())
            assert pc.tokens_issued == 1
            now[0] = 600 - 30  # inside the renewal margin
            list(pc.accounts())
            assert pc.tokens_issued == 2


def test_clients_of_one_company_share_its_token_and_drop_it_once_the_server_refuses_it():
    def still() -> float:  # a clock that stands still: only a 401 tells the clients their token expired
        return 0.0

    with serve_in_thread(procountor_token_lifetime=0.5) as url:
        clients = [client(f"{url}/procountor/api", clock=still) for _ in range(4)]
        for pc in clients[:2]:
            with pc:
                pc.fiscal_periods()
        time.sleep(0.6)
        for pc in clients[2:]:
            with pc:
                pc.fiscal_periods()
    # one token for the first two; the third is refused it, fetches a new one, and the fourth reuses that
    assert [pc.tokens_issued for pc in clients] == [1, 0, 1, 0]


def test_bad_credentials_name_the_company(simulator_url):
    with ProcountorClient(
        "eira", f"{simulator_url}/procountor/api", CREDS["client_id"], "bad-secret", CREDS["api_key"]
    ) as pc:
        with pytest.raises(AuthenticationError) as err:
            pc.fiscal_periods()
    assert "procountor company 'eira', endpoint 'oauth/token'" in str(err.value)
    assert "bad-secret" not in str(err.value)


# -- against scripted answers ------------------------------------------------------------------------

PERIOD = FiscalPeriod("7", date(2025, 1, 1), date(2025, 12, 31))


def receipt(rid: int, status: str = "APPROVED", kind: str = "JOURNAL", transactions=None) -> dict:
    return {
        "id": rid,
        "type": kind,
        "status": status,
        "name": f"r{rid}",
        "receiptDate": "2025-03-31",
        "receiptNumber": rid,
        "version": "2025-04-01T08:00:00",
        "vatStatus": 1,
        "transactions": transactions
        if transactions is not None
        else [
            {"id": 1, "account": "1910", "accountingValue": 100.0, "vatPercent": 0},
            {"id": 2, "account": "3000", "accountingValue": -100.0, "vatPercent": 0},
        ],
    }


def scripted(receipts: list[dict], drop: set[int] = frozenset(), report=None, errors=None):
    """A Procountor that lists `receipts`, answers batches without the ids in `drop`, and records requests."""
    asked: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(request)
        path = request.url.path.removeprefix("/api/")
        if errors and path in errors:
            return errors[path](request)
        if path == "oauth/token":
            return httpx.Response(200, json={"access_token": "tok-123", "expires_in": 3600})
        if path == "ledgerreceipts":
            page, size = int(request.url.params["page"]), int(request.url.params["size"])
            chunk = receipts[page * size : (page + 1) * size]
            basic = [{k: v for k, v in r.items() if k != "transactions"} for r in chunk]
            return httpx.Response(200, json={"results": basic, "meta": {"totalCount": len(receipts)}})
        if path.startswith("ledgerreceipts/"):
            ids = path.split("/")[1].split(",")
            found = [r for r in receipts if str(r["id"]) in ids and r["id"] not in drop]
            if not found:
                return httpx.Response(404, json={"message": {"errors": [{"status": 404, "message": "not found"}]}})
            return httpx.Response(200, json=found if len(ids) > 1 else found[0])
        if path == "reports/ledgeraccounts":
            return httpx.Response(200, json=report)
        return httpx.Response(404)

    return httpx.MockTransport(handler), asked


def scripted_client(transport) -> ProcountorClient:
    return ProcountorClient(
        "acme", "http://pc.test/api", "cid", "csecret", "apikey", transport=transport, retry=NO_WAIT,
        requests_per_second=None,
    )  # fmt: skip


def read(transport) -> list[dict]:
    with scripted_client(transport) as pc:
        return pa.Table.from_batches(list(pc.ledger(PERIOD))).to_pylist()


def test_450_receipts_are_read_in_three_batches_in_the_order_listed():
    receipts = [receipt(i) for i in range(1000, 1450)]
    transport, asked = scripted(receipts)
    rows = read(transport)
    batches = [r for r in asked if r.url.path.startswith("/api/ledgerreceipts/")]
    assert [len(r.url.path.split("/")[-1].split(",")) for r in batches] == [200, 200, 50]
    assert [r["receipt_id"] for r in rows[::2]] == [str(i) for i in range(1000, 1450)]


def test_an_id_left_out_of_a_batch_is_asked_again_then_named():
    receipts = [receipt(i) for i in range(1, 11)]
    transport, asked = scripted(receipts, drop={4, 7})
    with pytest.raises(BadResponseError) as err:
        read(transport)
    assert "2 of 10 receipts asked for did not come back: 4, 7" in str(err.value)
    assert "company 'acme'" in str(err.value)
    assert asked[-1].url.path == "/api/ledgerreceipts/4,7"


def test_a_status_the_rule_does_not_know_fails_naming_company_receipt_and_status():
    transport, _ = scripted([receipt(1), receipt(2, status="ARCHIVED")])
    with pytest.raises(BadResponseError) as err:
        read(transport)
    assert "company 'acme'" in str(err.value) and "receipt 2 has status 'ARCHIVED'" in str(err.value)


def test_every_documented_status_is_either_in_the_books_or_excluded_with_a_reason():
    documented = {
        "APPROVED", "DELETED", "EMPTY", "INVALIDATED", "INVOICED", "MARKED_PAID", "NOT_SENT", "OVERRIDDEN", "PAID",
        "PARTLY_PAID", "PAYMENT_DENIED", "PAYMENT_QUEUED", "PAYMENT_SENT_TO_BANK", "PAYMENT_TRANSACTION_REMOVED",
        "RECEIVED", "SENT", "STARTED", "UNFINISHED", "UNSAVED", "VERIFIED",
    }  # fmt: skip
    assert BOOKED_STATUSES | set(UNBOOKED_STATUSES) == documented
    assert not BOOKED_STATUSES & set(UNBOOKED_STATUSES)


def purchase(deduction, splits=None, vat_status=None):
    net = {
        "id": 1,
        "account": "7200",
        "accountingValue": 1000.0,
        "vatPercent": 25.5,
        "vatType": "PURCHASE",
        "vatDeductionPercent": deduction,
        "dimensionItemValues": splits or [],
    }
    if vat_status is not None:
        net["vatStatus"] = vat_status
    return receipt(
        1, kind="PURCHASE_INVOICE", transactions=[net, {"id": 2, "account": "2871", "accountingValue": -1255.0}]
    )


def test_half_deductible_vat_splits_between_the_receivable_and_the_expense_with_its_dimensions():
    splits = [{"dimensionId": 5, "itemId": 51, "value": 600.0}, {"dimensionId": 5, "itemId": 52, "value": 400.0}]
    rows = read(scripted([purchase(50, splits)])[0])
    by_account = Counter()
    for r in rows:
        by_account[r["account_number"]] += r["amount"]
    assert by_account == {"7200": Decimal("1127.50"), "1763": Decimal("127.50"), "2871": Decimal("-1255.00")}
    kept = next(r for r in rows if r["is_derived_vat"] and r["account_number"] == "7200")
    assert kept["amount"] == Decimal("127.50")
    assert [(d["item_id"], d["amount"]) for d in kept["dimensions"]] == [
        ("51", Decimal("76.50")),
        ("52", Decimal("51.00")),
    ]


def test_a_vat_status_without_a_known_treatment_fails_loudly():
    with pytest.raises(BadResponseError) as err:
        read(scripted([purchase(100, vat_status=21)])[0])
    assert "vatStatus 21 with vatPercent 25.5" in str(err.value) and "receipt 1" in str(err.value)


def test_a_vat_percent_under_a_no_vat_status_fails():
    with pytest.raises(BadResponseError, match="under vatStatus 12, which has no VAT"):
        read(scripted([purchase(100, vat_status=12)])[0])


def test_a_missing_accounting_value_is_an_error_not_zero():
    bad = receipt(1, transactions=[{"id": 1, "account": "1910"}, {"id": 2, "account": "3000", "accountingValue": 0}])
    with pytest.raises(BadResponseError, match="transaction 1: accountingValue: missing amount"):
        read(scripted([bad])[0])


REPORT = {
    "reportParameters": {},
    "reportData": {
        "periods": [
            {
                "startDate": "2025-01-01",
                "endDate": "2025-12-31",
                "rows": [{"name": "1910 Pankkitili", "value": 1234.5}, {"name": "3000 Myynti", "value": -99.99}],
            }
        ]
    },
}


def test_the_ledger_accounts_report_is_read_in_its_published_shape_asking_for_the_books_statuses():
    transport, asked = scripted([], report=REPORT)
    with scripted_client(transport) as pc:
        rows = pa.Table.from_batches(list(pc.account_balances(PERIOD))).to_pylist()
    assert [(r["account_number"], r["balance"]) for r in rows] == [
        ("1910", Decimal("1234.50")),
        ("3000", Decimal("-99.99")),
    ]
    body = json.loads(asked[-1].content)
    assert set(body["receiptStatus"]) == BOOKED_STATUSES and body["startDate"] == "2025-01-01"
    assert not {"SALES_ORDER", "PURCHASE_ORDER"} & set(body["options"]["receiptType"])
    assert "SALES_INVOICE" in body["options"]["receiptType"]


@pytest.mark.parametrize("report", [{"periods": REPORT["reportData"]["periods"]}, {"reportData": {}}, [], "report"])
def test_a_report_in_another_shape_is_an_error_not_zero_rows(report):
    transport, _ = scripted([], report=report)
    with scripted_client(transport) as pc, pytest.raises(BadResponseError, match="not the published report shape"):
        list(pc.account_balances(PERIOD))


def test_the_vendors_error_message_and_request_id_are_shown_without_secrets():
    def answer(request):
        body = {"requestId": "req-42", "message": {"errors": [{"status": 400, "message": "bad date for apikey"}]}}
        return httpx.Response(400, json=body)

    transport, _ = scripted([], errors={"ledgerreceipts": answer})
    with scripted_client(transport) as pc, pytest.raises(BadResponseError) as err:
        pc.receipt_index(PERIOD)
    text = str(err.value)
    assert "HTTP 400: bad date for" in text and "[requestId req-42]" in text and "apikey" not in text


def test_a_4xx_gateway_page_is_not_retried():
    def gateway(request):
        return httpx.Response(400, text="<html><body>Bad Request</body></html>", headers={"content-type": "text/html"})

    transport, asked = scripted([], errors={"ledgerreceipts": gateway})
    with scripted_client(transport) as pc, pytest.raises(BadResponseError, match="HTTP 400 with a text/html body"):
        pc.receipt_index(PERIOD)
    assert sum(r.url.path == "/api/ledgerreceipts" for r in asked) == 1


def test_a_token_answer_without_expires_in_is_an_error():
    transport, _ = scripted([], errors={"oauth/token": lambda r: httpx.Response(200, json={"access_token": "t"})})
    with scripted_client(transport) as pc, pytest.raises(BadResponseError, match="expires_in None"):
        pc.receipt_index(PERIOD)


def test_companies_of_one_api_client_share_its_rate_limit():
    office = f"office-{uuid.uuid4()}"  # limiters live for the process: a client id of its own
    a = ProcountorClient("a", "http://pc.test/api", office, "s", "key-a")
    b = ProcountorClient("b", "http://pc.test/api", office, "s", "key-b")
    other = ProcountorClient("c", "http://pc.test/api", "other-client", "s", "key-c")
    assert a.session._limiter is b.session._limiter
    assert other.session._limiter is not a.session._limiter
    assert a.session._limiter.per_second == procountor.REQUESTS_PER_SECOND
    slower = ProcountorClient("d", "http://pc.test/api", office, "s", "key-d", requests_per_second=5)
    assert slower.session._limiter is a.session._limiter and a.session._limiter.per_second == 5


def test_a_report_row_not_named_by_its_account_number_is_refused():
    report = {"reportData": {"periods": [{"endDate": "2025-12-31", "rows": [{"name": "Pankkitili", "value": 1}]}]}}
    transport, _ = scripted([], report=report)
    with scripted_client(transport) as pc, pytest.raises(BadResponseError, match="does not start with an account"):
        list(pc.account_balances(PERIOD))


def test_an_index_that_stops_short_of_its_total_is_an_error():
    receipts = [receipt(i) for i in range(1, 6)]

    def short(request):
        page = int(request.url.params["page"])
        basic = [{k: v for k, v in r.items() if k != "transactions"} for r in receipts[:2]] if page == 0 else []
        return httpx.Response(200, json={"results": basic, "meta": {"totalCount": 5}})

    transport, _ = scripted(receipts, errors={"ledgerreceipts": short})
    with scripted_client(transport) as pc, pytest.raises(BadResponseError, match="page 1 is empty after 2 of 5"):
        pc.receipt_index(PERIOD)


def test_a_list_that_shifts_while_read_is_read_again_and_no_receipt_is_lost():
    receipts = [receipt(i) for i in range(1, 401)]
    state = {"pages": 0}

    def shifting(request):
        state["pages"] += 1
        live = receipts if state["pages"] == 1 else [r for r in receipts if r["id"] != 5]  # 5 leaves the range
        page, size = int(request.url.params["page"]), int(request.url.params["size"])
        basic = [{k: v for k, v in r.items() if k != "transactions"} for r in live[page * size : (page + 1) * size]]
        return httpx.Response(200, json={"results": basic, "meta": {"totalCount": len(live)}})

    transport, _ = scripted(receipts, errors={"ledgerreceipts": shifting})
    with scripted_client(transport) as pc:
        ids = [r["id"] for r in pc.receipt_index(PERIOD)]
    assert sorted(ids) == list(range(1, 401)) and len(ids) == 400  # 201 would have been skipped
    assert state["pages"] == 4


def test_a_receipt_whose_status_left_the_books_after_the_index_is_kept_with_its_reason():
    receipts = [receipt(1), receipt(2)]
    receipts[1]["status"] = "INVALIDATED"  # changed between the index and the detail call

    def index(request):
        basic = [{**{k: v for k, v in r.items() if k != "transactions"}, "status": "APPROVED"} for r in receipts]
        return httpx.Response(200, json={"results": basic, "meta": {"totalCount": 2}})

    transport, _ = scripted(receipts, errors={"ledgerreceipts": index})
    rows = read(transport)
    kept = [r for r in rows if r["receipt_id"] == "2"]
    assert [(r["is_official"], r["exclusion_reason"], r["line_number"]) for r in kept] == [
        (False, UNBOOKED_STATUSES["INVALIDATED"], None)
    ]


def test_a_vat_percent_without_any_vat_status_fails():
    bad = purchase(100)
    del bad["vatStatus"]
    with pytest.raises(BadResponseError, match="without a vatStatus"):
        read(scripted([bad])[0])
