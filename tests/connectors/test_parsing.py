"""Strict parsing: a date is exactly a date; a debit or credit documented as non-negative is never negative."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import httpx
import pyarrow as pa
import pytest

from connectors.errors import BadResponseError
from connectors.fennoa import FennoaClient
from connectors.fiscal import FiscalPeriod
from connectors.netvisor import NetvisorClient
from connectors.parsing import iso_date, unsigned_money


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-01-31", date(2025, 1, 31)),
        (" 2025-01-31 ", date(2025, 1, 31)),
        ("2025-01-31T00:00:00", date(2025, 1, 31)),  # Procountor-style timestamps
        ("2025-01-31T23:59:59.123", date(2025, 1, 31)),
        ("2025-01-31T10:15:00Z", date(2025, 1, 31)),  # NAG-style, the date as written
        ("2025-01-31T23:30:00+02:00", date(2025, 1, 31)),
        ("2025-01-31 08:12:30", date(2025, 1, 31)),
        ("31.1.2025", date(2025, 1, 31)),  # Netvisor's d.m.yyyy
        ("01.02.2025", date(2025, 2, 1)),
    ],
)
def test_dates_the_apis_send_are_accepted(text, expected):
    assert iso_date(text, "date") == expected


@pytest.mark.parametrize(
    "text",
    [
        "2025-01-01garbage",
        "2025-01-01 junk",
        "2025-01-01T",
        "2025-01-01T10:15:00Zjunk",
        "2025-01-01T25:00",
        "2025-02-30",
        "2025-1-1",
        "20250101",
        "2025-W01-1",
        "1.2.2025x",
        "1.2.25",
        "32.1.2025",
        "٢٠٢٥-٠١-٠١",  # digits, but not ASCII ones
        "",
    ],
)
def test_anything_but_exactly_a_date_is_rejected(text):
    with pytest.raises(ValueError, match="date"):
        iso_date(text, "date")


def test_unsigned_money_rejects_negative_amounts_only():
    assert unsigned_money("0", "debit") == Decimal("0.00")
    assert unsigned_money("-0.00", "debit") == Decimal("0.00")
    assert unsigned_money("12,50", "debit") == Decimal("12.50")
    with pytest.raises(ValueError, match=r"debit: '-0.01' is negative"):
        unsigned_money("-0.01", "debit")


def fennoa_ledger(rows: list[dict], opening: list[dict] | None = None) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/periods"):
            return httpx.Response(
                200, json={"status": "OK", "data": [{"id": 1, "start_date": "2025-01-01", "end_date": "2025-12-31"}]}
            )
        if path.endswith("/locking_periods"):
            return httpx.Response(200, json={"status": "OK", "data": []})
        if "/opening_balances/" in path:
            return httpx.Response(200, json={"status": "OK", "data": opening or []})
        if "/account_balance/" in path:
            return httpx.Response(200, json={"status": "OK", "data": {"sum_debit": "5.00", "sum_credit": "-1.00"}})
        page = int(request.url.params["page"])
        data = (
            rows
            if page == 2
            else [{"statement_id": 1, "account": "3000", "date": "2025-02-01", "debit": 1, "credit": 0}]
        )
        body = {"status": "OK", "pagination": {"pagesCount": 2}, "data": data}
        return httpx.Response(200, content=json.dumps(body))

    return httpx.MockTransport(handler)


@pytest.mark.parametrize("absent", [{}, {"credit": None}, {"credit": ""}], ids=["missing", "null", "empty"])
def test_an_absent_fennoa_debit_or_credit_is_an_error_naming_page_and_row_not_a_zero(absent):
    rows = [
        {"statement_id": 2, "account": "3000", "date": "2025-02-01", "debit": 12.5, "credit": 0},
        {"statement_id": 2, "account": "1910", "date": "2025-02-01", "debit": 0, **absent},
    ]
    with FennoaClient("acme", "http://fennoa.test/api", "u", "k", transport=fennoa_ledger(rows)) as c:
        with pytest.raises(BadResponseError) as err:
            list(c.ledger(c.fiscal_periods()[0]))
    assert str(err.value) == "fennoa company 'acme', endpoint 'ledger': page 2, row 1: credit: missing amount"


@pytest.mark.parametrize("amount", [-12.5, "-12.50"], ids=["fast-float-column", "exact-text-column"])
def test_a_negative_fennoa_debit_or_credit_names_page_and_row(amount):
    rows = [
        {"statement_id": 2, "account": "3000", "date": "2025-02-01", "debit": 12.5, "credit": 0},
        {"statement_id": 2, "account": "1910", "date": "2025-02-01", "debit": 0, "credit": amount},
    ]
    with FennoaClient("acme", "http://fennoa.test/api", "u", "k", transport=fennoa_ledger(rows)) as c:
        with pytest.raises(BadResponseError) as err:
            list(c.ledger(c.fiscal_periods()[0]))
    assert str(err.value).startswith("fennoa company 'acme', endpoint 'ledger': page 2, row 1: credit: '-12.5")
    assert "is negative" in str(err.value)


def test_a_fennoa_ledger_with_trailing_junk_in_a_date_names_page_and_row():
    rows = [{"statement_id": 2, "account": "3000", "date": "2025-02-01garbage", "debit": 1, "credit": 0}]
    with FennoaClient("acme", "http://fennoa.test/api", "u", "k", transport=fennoa_ledger(rows)) as c:
        with pytest.raises(BadResponseError) as err:
            list(c.ledger(c.fiscal_periods()[0]))
    assert "endpoint 'ledger': page 2, row 0: date: '2025-02-01garbage' is not a valid date" in str(err.value)


def test_negative_fennoa_opening_and_reported_balances_name_the_row_or_account():
    opening = [{"account_code": "1910", "debit_sum": "-5.00", "credit_sum": "0", "total_sum": "-5.00"}]
    with FennoaClient("acme", "http://fennoa.test/api", "u", "k", transport=fennoa_ledger([], opening)) as c:
        period = c.fiscal_periods()[0]
        with pytest.raises(BadResponseError) as err:
            list(c.opening_balances(period))
        assert "endpoint 'opening_balances': row 0: debit_sum: '-5.00' is negative" in str(err.value)
        with pytest.raises(BadResponseError) as err:
            list(c.account_balances(period, ["1910"]))
        assert "endpoint 'account_balance': account 1910: sum_credit: '-1.00' is negative" in str(err.value)


def test_a_fennoa_opening_balance_without_credit_sum_takes_the_credit_the_documented_sums_imply():
    opening = [
        {"account_code": "1910", "debit_sum": "12.00", "total_sum": "7.50"},
        {"account_code": "2871", "debit_sum": "0", "credit_sum": "4.00", "total_sum": "-4.00"},
    ]
    with FennoaClient("acme", "http://fennoa.test/api", "u", "k", transport=fennoa_ledger([], opening)) as c:
        (batch,) = c.opening_balances(c.fiscal_periods()[0])
        assert batch.column("credit").to_pylist() == [Decimal("4.50"), Decimal("4.00")]
        for absent in ({"debit_sum": "1.00"}, {"total_sum": "1.00", "credit_sum": "0"}):
            broken = FennoaClient(
                "acme", "http://fennoa.test/api", "u", "k",
                transport=fennoa_ledger([], [{"account_code": "1910", **absent}]),
            )  # fmt: skip
            with broken, pytest.raises(BadResponseError, match=r"opening_balances': row 0: \w+_sum: missing amount"):
                list(broken.opening_balances(broken.fiscal_periods()[0]))


def test_a_positive_fennoa_ledger_still_takes_the_fast_path():
    rows = [
        {"statement_id": 2, "account": "3000", "date": "2025-02-01", "debit": 12.5, "credit": 0},
        {"statement_id": 2, "account": "1910", "date": "2025-02-01", "debit": 0, "credit": 12.5},
    ]
    with FennoaClient("acme", "http://fennoa.test/api", "u", "k", transport=fennoa_ledger(rows)) as c:
        table = pa.Table.from_batches(list(c.ledger(c.fiscal_periods()[0])))
    assert table.column("credit").to_pylist() == [Decimal("0.00"), Decimal("0.00"), Decimal("12.50")]


def netvisor(xml: str) -> NetvisorClient:
    transport = httpx.MockTransport(lambda r: httpx.Response(200, text=xml))
    return NetvisorClient("acme", "http://nv.test", "c", "ck", "p", "pk", "1234567-1", transport=transport)


def test_netvisor_line_sums_are_signed_by_design_and_kept():
    xml = (
        "<Root><ResponseStatus><Status>OK</Status></ResponseStatus><Vouchers>"
        '<Voucher status="valid"><NetvisorKey>7</NetvisorKey><VoucherDate>3.2.2025</VoucherDate>'
        "<VoucherLine><NetvisorKey>1</NetvisorKey><LineSum>10,00</LineSum><AccountNumber>3000</AccountNumber></VoucherLine>"
        "<VoucherLine><NetvisorKey>2</NetvisorKey><LineSum>-10,00</LineSum><AccountNumber>1700</AccountNumber></VoucherLine>"
        "</Voucher></Vouchers></Root>"
    )
    with netvisor(xml) as nv:
        table = pa.Table.from_batches(list(nv.ledger(FiscalPeriod("1", date(2025, 2, 1), date(2025, 2, 7)))))
    assert table.column("line_sum").to_pylist() == [Decimal("10.00"), Decimal("-10.00")]


def test_a_negative_netvisor_kredit_names_the_account():
    xml = (
        "<Root><ResponseStatus><Status>OK</Status></ResponseStatus><AccountBalances>"
        '<Account Netvisorkey="1"><Number>1910</Number><AccountBalance Date="2025-12-31">'
        "<Debet>5,00</Debet><Kredit>-2,00</Kredit><Balance>7,00</Balance></AccountBalance></Account>"
        "</AccountBalances></Root>"
    )
    with netvisor(xml) as nv, pytest.raises(BadResponseError) as err:
        list(nv.account_balances(FiscalPeriod("1", date(2025, 1, 1), date(2025, 12, 31))))
    assert "netvisor company 'acme', endpoint 'accountbalance': account 1910 (Netvisorkey 1): Kredit:" in str(err.value)
