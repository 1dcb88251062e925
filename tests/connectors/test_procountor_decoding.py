"""Procountor's batch decoder: orjson where a double is exact, Decimals otherwise; money stays exact.

`decode_json` reads a body with orjson only when no number in it has more than 15 digits or an
exponent (then each double is the one double of its decimal text); amounts become whole cents and
percents hundredths (ints), proven from the double (`_cents`). These tests hold the fast path to
the exact one (the stdlib with `parse_float=Decimal`, as before orjson): same values, same errors.
"""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal

import httpx
import pyarrow as pa
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from connectors import offload, procountor
from connectors.errors import BadResponseError
from connectors.http import Retry
from connectors.offload import WORKERS_ENV
from connectors.parsing import CENT, money
from connectors.procountor import LedgerContext, Unanswered, decode_json, decode_receipts, exact_as_double
from tests.connectors.test_procountor import read, receipt, scripted

CONTEXT = LedgerContext("acme", 2025, "7", "2939", "1763")

# Number texts as a server may write them: plain, with many digits, with exponents, negative.
digits = st.integers(min_value=0, max_value=10**19)
number_texts = st.one_of(
    st.builds(lambda i, f: f"{i}.{f}", digits, st.integers(0, 10**6).map(str)),
    st.builds(lambda i, f: f"-{i}.{f:02d}", digits, st.integers(0, 99)),
    st.builds(lambda m, e: f"{m}e{e}", st.integers(-(10**6), 10**6), st.integers(-8, 8)),
    st.builds(lambda m, e: f"{m}.5E+{e}", st.integers(0, 999), st.integers(0, 3)),
    digits.map(str),
    st.decimals(min_value=-(10**15), max_value=10**15, places=2, allow_nan=False).map(str),
    st.floats(min_value=-1e15, max_value=1e15, allow_nan=False).map(repr),
)
HARD = ["0.1", "1e-2", "12345678901234.56", "-0.0", "0.10000000000000001", "9999999999999999.99", "1E+2", "24.00"]


def body(receipts: list[str]) -> bytes:
    return ("[" + ",".join(receipts) + "]").encode()


def receipt_text(rid: int, amount: str, vat_percent: str = "0", deduction: str | None = None) -> str:
    """A receipt whose first transaction (and its dimension split) carries `amount` as written, then a zero row."""
    vat = f',"vatType":"PURCHASE","vatDeductionPercent":{deduction}' if deduction is not None else ""
    return (
        f'{{"id":{rid},"type":"JOURNAL","status":"APPROVED","name":"r{rid}","receiptDate":"2025-03-31",'
        f'"receiptNumber":{rid},"version":"2025-04-01T08:00:00","vatStatus":1,"vatType":"PURCHASE","transactions":['
        f'{{"id":1,"account":"7200","accountingValue":{amount},"vatPercent":{vat_percent}{vat},'
        f'"dimensionItemValues":[{{"dimensionId":5,"itemId":51,"value":{amount}}}]}},'
        f'{{"id":2,"account":"2871","accountingValue":0,"vatPercent":0}}]}}'
    )


def decode(content: bytes, ids: list[str]) -> pa.RecordBatch:
    out = decode_receipts(CONTEXT, [(ids, [content])])
    assert not isinstance(out, Unanswered)
    return out


def decode_exactly(content: bytes, ids: list[str], monkeypatch: pytest.MonkeyPatch) -> pa.RecordBatch:
    """The same body through the stdlib with Decimals only (the decoder before orjson)."""
    with monkeypatch.context() as m:
        m.setattr(procountor, "exact_as_double", lambda _content: False)
        return decode(content, ids)


def expected_amount(text: str) -> Decimal | None:
    """What the exact decoder makes of an amount's text: `money` of its Decimal, None when refused."""
    value: object = json.loads(text, parse_float=Decimal)
    try:
        return money(value, "accountingValue")
    except ValueError:
        return None


@settings(max_examples=400, deadline=None)
@given(number_texts)
@example("0.1")
@example("1e-2")
@example("12345678901234.56")
@example("0.10000000000000001")
@example("9999999999999999.99")
def test_an_amount_reads_exactly_as_its_text_whichever_decoder_reads_the_body(text):
    content = body([receipt_text(1, text)])
    want = expected_amount(text)
    if want is None:
        with pytest.raises(BadResponseError, match="receipt 1: transaction 1: accountingValue"):
            decode(content, ["1"])
        return
    rows = decode(content, ["1"]).to_pylist()
    assert rows[0]["amount"] == want and rows[0]["dimensions"][0]["amount"] == want
    assert rows[0]["amount"].as_tuple().exponent == -2


@settings(max_examples=400, deadline=None)
@given(number_texts)
def test_a_number_that_passes_the_guard_is_the_one_double_of_its_text(text):
    content = f"[{text}]".encode()
    value = decode_json(content)[0]
    exact = json.loads(content, parse_float=Decimal)[0]
    if exact_as_double(content):
        assert value == float(text)  # orjson rounds as correctly as the stdlib
        assert Decimal(repr(value)) == exact  # repr gives the text's value back: no digit lost
    else:
        assert value == exact and type(value) is type(exact)  # Decimal (or int): the exact decoder


@pytest.mark.parametrize("text", HARD)
def test_hard_numbers_keep_their_value(text):
    assert Decimal(str(decode_json(f"[{text}]".encode())[0])) == Decimal(text)


def test_long_numbers_and_exponents_take_the_exact_decoder():
    assert isinstance(decode_json(b"[12345678901234.56]")[0], Decimal)
    assert isinstance(decode_json(b"[1e-2]")[0], Decimal)
    assert isinstance(decode_json(b'[{"x": 0.1}]')[0]["x"], float)
    assert decode_json(b"[NaN]")[0] != decode_json(b"[NaN]")[0]  # the stdlib's NaN, refused by money later


@settings(max_examples=300, deadline=None)
@given(
    st.integers(-(10**14), 10**14),
    st.integers(0, 9999),
    st.one_of(st.none(), st.integers(0, 10000)),
    st.booleans(),
)
def test_fast_and_exact_decoders_give_the_same_rows(cents, pct, deduction, int_form):
    amount = str(cents // 100) if int_form else f"{Decimal(cents).scaleb(-2)}"
    content = body(
        [
            receipt_text(
                7,
                amount,
                f"{Decimal(pct).scaleb(-2)}",
                None if deduction is None else f"{Decimal(deduction).scaleb(-2)}",
            )
        ]
    )
    assert outcome(lambda: decode(content, ["7"])) == outcome(
        lambda: decode_exactly(content, ["7"], pytest.MonkeyPatch())
    )


def outcome(read) -> object:
    """The rows a decoder gives, or the message of the error it raises."""
    try:
        return read().to_pylist()
    except BadResponseError as exc:
        return str(exc)


@settings(max_examples=500, deadline=None)
@given(st.integers(-(10**15), 10**15), st.integers(-99999, 99999))
def test_vat_in_integers_is_decimals_rounded_half_up(cents, hundredths):
    amount, pct = Decimal(cents).scaleb(-2), Decimal(hundredths).scaleb(-2)
    want = (amount * pct / 100).quantize(CENT, rounding=ROUND_HALF_UP)
    assert Decimal(procountor._half_up(cents * hundredths, 10_000)).scaleb(-2) == want


def test_the_vat_description_reads_the_same_from_either_decoder(monkeypatch):
    content = body([receipt_text(1, "1000.00", "24.00", "50")])
    fast = decode(content, ["1"]).to_pylist()
    exact = decode_exactly(content, ["1"], monkeypatch).to_pylist()
    assert fast == exact
    assert [r["description"] for r in fast if r["is_derived_vat"]] == [
        "ALV 24.0%, vähennettävä 50.0% (transaction 1)",
        "ALV 24.0%, vähennyskelvoton osuus (transaction 1)",
    ]
    assert [r["amount"] for r in fast if r["is_derived_vat"]] == [Decimal("120.00"), Decimal("120.00")]


@pytest.mark.parametrize(
    ("amount", "pct", "message"),
    [
        ("12345678901234567.00", "0", "accountingValue: .*12345678901234567.00.* does not fit DECIMAL"),
        ("1.005", "0", "accountingValue: .*1.005.* has more than two decimals"),
        ("100.0", "24.125", "vatPercent 24.125 has more than two decimals"),
        ("100.0", "1000", r"vatPercent 1000 does not fit DECIMAL\(5,2\)"),
        ("100.0", '"x"', "vatPercent 'x' is not a percent"),
    ],
)
def test_a_bad_amount_or_percent_names_company_receipt_and_transaction(amount, pct, message):
    with pytest.raises(BadResponseError, match=message) as err:
        decode(body([receipt_text(3, amount, pct)]), ["3"])
    assert "company 'acme', endpoint 'ledgerreceipts/{ids}'" in str(err.value)
    assert "receipt 3: transaction 1" in str(err.value)


def test_vat_beyond_the_money_type_names_its_row():
    with pytest.raises(BadResponseError, match=r"receipt 4, row 2: amount .* does not fit decimal128\(18, 2\)"):
        decode(body([receipt_text(4, "9999999999999999.00", "999")]), ["4"])


def test_a_text_field_of_the_wrong_type_names_its_receipt_and_row():
    content = body([receipt_text(5, "1.00").replace('"id":2,', '"id":2,"description":[1],')])
    with pytest.raises(BadResponseError, match=r"receipt 5, row 2: description \[1\]"):
        decode(content, ["5"])


def test_garbled_json_asks_again_and_left_out_ids_are_reported():
    with pytest.raises(Retry):
        decode_receipts(CONTEXT, [(["1"], [b'[{"id": 1,'])])
    out = decode_receipts(CONTEXT, [(["1", "2"], [body([receipt_text(1, "1.00")])])])
    assert out == Unanswered(((0, ("2",)),))


def test_a_large_year_decoded_in_workers_equals_the_same_year_decoded_here(monkeypatch):
    receipts = [receipt(i, transactions=vat_transactions(i)) for i in range(1, 2001)]
    receipts[5]["status"] = "UNFINISHED"  # kept from the index, with its reason
    monkeypatch.setattr(procountor, "DECODE_GROUP", 2)
    monkeypatch.setattr(procountor, "OFFLOAD_AFTER", 1)
    monkeypatch.setenv(WORKERS_ENV, "0")
    here = read(scripted(receipts)[0])
    monkeypatch.setenv(WORKERS_ENV, "1")
    try:
        offloaded = read(scripted(receipts)[0])
    finally:
        offload.shutdown()
    assert offloaded == here
    assert len(here) == 1999 * 3 + 1 and here[-1]["exclusion_reason"].startswith("unfinished")


def vat_transactions(i: int) -> list[dict]:
    return [
        {"id": 1, "account": "3000", "accountingValue": -(i + 0.1), "vatPercent": 25.5, "vatType": "SALES"},
        {"id": 2, "account": "1700", "accountingValue": i + 0.1, "vatPercent": 0},
    ]


def test_a_garbled_batch_is_asked_for_again_alone():
    receipts = [receipt(i) for i in range(1, 601)]
    inner, asked = scripted(receipts)
    garbled: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        response = inner.handle_request(request)
        if request.url.path.startswith("/api/ledgerreceipts/201,") and not garbled:
            garbled.append(request.url.path)
            return httpx.Response(200, content=response.read()[:-40])  # cut short: not JSON
        return response

    rows = read(httpx.MockTransport(handler))
    assert [r["receipt_id"] for r in rows[::2]] == [str(i) for i in range(1, 601)]
    batches = [r.url.path for r in asked if r.url.path.startswith("/api/ledgerreceipts/")]
    assert len(batches) == 4 and batches.count(garbled[0]) == 2
