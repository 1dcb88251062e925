"""The Nordic API Gateway connector: the payload shape it assumes is checked, and a missing money
value is an error naming connection, account and transaction (zero only where the API says zero)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx
import pyarrow as pa
import pytest

from connectors.bank import ConsentExpiredError, TokenSet, TokenStore
from connectors.errors import BadResponseError
from connectors.http import RetryPolicy
from connectors.nag import NagClient
from connectors.parsing import money
from simulator.catalogue import nag_client_credentials

FAST = RetryPolicy(max_attempts=2, base_delay=0.0)
ALL_TIME = (date(2000, 1, 1), date(2100, 12, 31))


# -- against the simulator ---------------------------------------------------------------------------------


@pytest.fixture
def tamper(simulator_url):
    def add(kind: str, company: str = "borealis") -> None:
        httpx.post(f"{simulator_url}/_sim/tamper", json={"api": "nag", "company": company, "kind": kind})

    yield add
    httpx.delete(f"{simulator_url}/_sim/tamper")


@pytest.fixture
def bank(simulator_url, tmp_path) -> NagClient:
    """A client for borealis's bank connection, consented through the simulator's login flow."""
    client_id, client_secret = nag_client_credentials()
    c = NagClient(
        "borealis", "borealis_bank", f"{simulator_url}/nag", client_id, client_secret, TokenStore(tmp_path / "t.json")
    )
    consent = httpx.get(c.start_authorization("http://127.0.0.1/callback"), follow_redirects=False)
    c.complete_authorization(parse_qs(urlparse(consent.headers["location"]).query)["code"][0])
    with c:
        yield c


def test_balances_and_transactions_are_exact_and_agree(bank):
    accounts = pa.Table.from_batches(list(bank.accounts())).to_pylist()
    assert [a["account_id"] for a in accounts] == ["acc-borealis-1", "acc-borealis-2"]
    for account in accounts:
        rows = pa.Table.from_batches(list(bank.transactions(account["account_id"], *ALL_TIME, 2026))).to_pylist()
        booked = [r for r in rows if r["state"] == "Booked"]
        assert booked and all(isinstance(r["amount"], Decimal) for r in rows)
        assert sum((r["amount"] for r in booked), Decimal(0)) == account["booked_balance"]
        assert booked[-1]["balance"] == account["booked_balance"]
        assert {r["currency"] for r in rows} == {"EUR"}


def test_a_transaction_without_an_amount_fails_naming_connection_account_and_transaction(bank, tamper):
    tamper("missing_amount")
    with pytest.raises(BadResponseError) as err:
        list(bank.transactions("acc-borealis-1", *ALL_TIME, 2026))
    message = str(err.value)
    assert message.startswith(
        "nag company 'borealis', endpoint 'v2/accounts/{id}/transactions': "
        "connection borealis_bank, account acc-borealis-1, page 1, transaction '"
    )
    assert message.endswith("': amount.value: missing amount")


def test_an_account_without_its_booked_balance_fails_naming_it(bank, tamper):
    tamper("missing_balance")
    with pytest.raises(BadResponseError) as err:
        list(bank.accounts())
    assert str(err.value) == (
        "nag company 'borealis', endpoint 'v2/accounts': connection borealis_bank, page 1, "
        "account 'acc-borealis-1': bookedBalance.value: missing amount"
    )


# -- shapes, on a stub server ------------------------------------------------------------------------------


def _tokens() -> TokenSet:
    now = datetime.now(UTC)
    return TokenSet(
        access_token="access-abc",
        access_expires=now + timedelta(hours=1),
        login_token="login-def",
        login_expires=now + timedelta(days=30),
        supports_unattended=True,
        provider_id="TestDataBank1",
        authorized_at=now - timedelta(days=1),
    )


def _stub(tmp_path: Path, pages: dict[str, list[dict]]) -> NagClient:
    """A client whose aggregator answers each path's pages in turn (pagingToken "2", "3", ...)."""

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/nag/")
        page = int(request.url.params.get("pagingToken") or 1)
        return httpx.Response(200, content=json.dumps(pages[path][page - 1]))

    store = TokenStore(tmp_path / "tokens.json")
    store.save(_tokens())
    return NagClient(
        "acme", "acme_bank", "http://nag.test/nag", "cid", "csecret", store, retry=FAST,
        transport=httpx.MockTransport(handler),
    )  # fmt: skip


def _account(**changes: object) -> dict:
    account = {
        "id": "a1",
        "providerId": "TestDataBank1",
        "name": "Yritystili",
        "number": {"iban": "FI2112345600000785"},
        "bookedBalance": {"value": 0, "currency": "EUR"},
        "availableBalance": {"value": 10.5, "currency": "EUR"},
        "type": "Consumption",
    }
    return {k: v for k, v in {**account, **changes}.items() if v is not ...}


def _tx(**changes: object) -> dict:
    tx = {
        "id": "t1",
        "date": "2025-03-31",
        "text": "K-Market",
        "amount": {"value": -26.4, "currency": "EUR"},
        "balance": {"value": 0, "currency": "EUR"},
        "type": "Card",
        "state": "Booked",
    }
    return {k: v for k, v in {**tx, **changes}.items() if v is not ...}


def _transactions(tmp_path: Path, *txs: dict) -> list[dict]:
    pages = {"v2/accounts/a1/transactions": [{"transactions": list(txs), "pagingToken": None}]}
    with _stub(tmp_path, pages) as c:
        return pa.Table.from_batches(list(c.transactions("a1", date(2025, 1, 1), date(2025, 12, 31), 2025))).to_pylist()


def _transaction_error(tmp_path: Path, *txs: dict) -> str:
    with pytest.raises(BadResponseError) as err:
        _transactions(tmp_path, *txs)
    return str(err.value)


def test_zero_is_read_only_where_the_api_says_zero(tmp_path):
    [row] = _transactions(tmp_path, _tx(amount={"value": 0, "currency": "EUR"}))
    assert (row["amount"], row["balance"]) == (Decimal("0.00"), Decimal("0.00"))
    pages = {"v2/accounts": [{"accounts": [_account()], "pagingToken": None}]}
    with _stub(tmp_path, pages) as c:
        [account] = pa.Table.from_batches(list(c.accounts())).to_pylist()
    assert (account["booked_balance"], account["available_balance"]) == (Decimal("0.00"), Decimal("10.50"))
    assert (account["iban"], account["currency"]) == ("FI2112345600000785", "EUR")


@pytest.mark.parametrize(
    ("change", "cause"),
    [
        ({"amount": ...}, "amount: missing amount"),
        ({"amount": None}, "amount: missing amount"),
        ({"amount": {"currency": "EUR"}}, "amount.value: missing amount"),
        ({"amount": {"value": None, "currency": "EUR"}}, "amount.value: missing amount"),
        ({"amount": {"value": "", "currency": "EUR"}}, "amount.value: missing amount"),
        ({"amount": {"value": -1}}, "amount.currency: missing"),
        ({"amount": -1}, "amount: expected {value, currency}, got int"),
        ({"balance": ...}, "balance: missing amount"),
        ({"balance": {"currency": "EUR"}}, "balance.value: missing amount"),
        ({"amount": {"value": "1.005", "currency": "EUR"}}, "amount.value: '1.005' has more than two decimals"),
        ({"state": "Pending"}, "state: 'Pending' is not one of Booked, Reserved, Scheduled"),
        ({"state": ...}, "state: missing"),
        ({"date": "31.13.2025"}, "date: '31.13.2025' is not a valid date"),
        ({"date": ...}, "missing field 'date'"),
        ({"text": {"x": 1}}, "text: expected text, got a JSON dict"),
    ],
)
def test_a_transaction_the_client_cannot_read_names_connection_account_page_and_transaction(tmp_path, change, cause):
    message = _transaction_error(tmp_path, _tx(id="t0"), _tx(**change))
    assert message == (
        "nag company 'acme', endpoint 'v2/accounts/{id}/transactions': "
        f"connection acme_bank, account a1, page 1, transaction 't1': {cause}"
    )


def test_a_transaction_without_an_id_is_named_by_its_place(tmp_path):
    assert _transaction_error(tmp_path, _tx(), _tx(id=...)).endswith(
        "connection acme_bank, account a1, page 1, transaction #1 (no id): id: missing"
    )


def test_aiia_data_names_are_a_shape_the_client_does_not_read(tmp_path):
    aiia = _tx(amount=..., transactionAmount={"value": -26.4, "currency": "EUR"})
    assert _transaction_error(tmp_path, aiia).endswith(
        "transaction 't1': field 'transactionAmount' where 'amount' is expected: "
        "an Aiia Data v1 shape, which this client does not read"
    )
    pages = {"v2/accounts": [{"accounts": [_account(bookedBalance=..., booked={"value": 1})], "pagingToken": None}]}
    with _stub(tmp_path, pages) as c, pytest.raises(BadResponseError) as err:
        list(c.accounts())
    assert str(err.value).endswith(
        "page 1, account 'a1': field 'booked' where 'bookedBalance' is expected: "
        "an Aiia Data v1 shape, which this client does not read"
    )


@pytest.mark.parametrize(
    ("body", "cause"),
    [
        (
            {"items": [], "pagingToken": None},
            "response has no 'transactions' list (keys: items, pagingToken): an unknown shape",
        ),
        ({"transactions": {"t1": {}}}, "response has no 'transactions' list (keys: transactions): an unknown shape"),
        ([], "expected a JSON object, got list"),
        ({"transactions": [], "pagingToken": 7}, "pagingToken is int, expected text or null"),
    ],
)
def test_an_unknown_response_shape_is_rejected_not_read_as_nothing(tmp_path, body, cause):
    with _stub(tmp_path, {"v2/accounts/a1/transactions": [body]}) as c, pytest.raises(BadResponseError) as err:
        list(c.transactions("a1", date(2025, 1, 1), date(2025, 12, 31), 2025))
    assert str(err.value).endswith(f"connection acme_bank, account a1, page 1: {cause}")


def test_accounts_without_the_accounts_list_or_with_an_account_missing_its_available_balance_fail(tmp_path):
    for body, cause in (
        ({"pagingToken": None}, "page 1: response has no 'accounts' list (keys: pagingToken): an unknown shape"),
        ({"accounts": [_account(availableBalance=...)]}, "page 1, account 'a1': availableBalance: missing amount"),
        ({"accounts": [_account(id=...)]}, "page 1, account #0 (no id): id: missing"),
    ):
        with _stub(tmp_path, {"v2/accounts": [body]}) as c, pytest.raises(BadResponseError) as err:
            list(c.accounts())
        assert str(err.value) == f"nag company 'acme', endpoint 'v2/accounts': connection acme_bank, {cause}"


def test_pages_are_followed_and_a_repeated_paging_token_is_an_error(tmp_path):
    pages = {
        "v2/accounts": [
            {"accounts": [_account()], "pagingToken": "2"},
            {"accounts": [_account(id="a2")], "pagingToken": None},
        ],
        "v2/accounts/a1/transactions": [
            {"transactions": [_tx()], "pagingToken": "2"},
            {"transactions": [_tx(id="t2", date="2026-01-01")], "pagingToken": "2"},  # outside the window
        ],
    }
    with _stub(tmp_path, pages) as c:
        assert pa.Table.from_batches(list(c.accounts())).column("account_id").to_pylist() == ["a1", "a2"]
        batches = c.transactions("a1", date(2025, 1, 1), date(2025, 12, 31), 2025)
        assert next(batches).column("transaction_id").to_pylist() == ["t1"]
        assert next(batches).num_rows == 0
        with pytest.raises(BadResponseError, match=r"account a1, page 2: pagingToken repeats an earlier page's"):
            next(batches)


def test_money_refuses_an_absent_value_and_reads_zero():
    assert money(0, "v") == Decimal("0.00")
    assert money("0,00", "v") == Decimal("0.00")
    assert money(Decimal("-26.40"), "v") == Decimal("-26.40")
    for absent in (None, "", "  "):
        with pytest.raises(ValueError, match="v: missing amount"):
            money(absent, "v")


def test_a_refused_unattended_login_asks_for_the_user_not_for_new_client_credentials(tmp_path):
    """NAG does not document what /unattended answers for a login token it no longer accepts; a 401
    there is a consent to renew (the renewing command named), and never pauses the company's ERP."""

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/nag/v1/authentication/unattended"
        return httpx.Response(401, content=b'{"message": "login token not valid"}')

    store = TokenStore(tmp_path / "tokens.json")
    store.save(replace(_tokens(), access_expires=datetime.now(UTC) - timedelta(minutes=5)))
    client = NagClient(
        "acme", "acme_bank", "http://nag.test/nag", "cid", "csecret", store, retry=FAST,
        transport=httpx.MockTransport(handler),
    )  # fmt: skip
    with client, pytest.raises(ConsentExpiredError) as err:
        list(client.accounts())
    message = str(err.value)
    assert "the bank refused the stored login" in message and "nordledger bank authorize acme_bank" in message
    assert "authentication failed" not in message  # what the credential_failures sensor pauses a company for
    assert store.load().login_token == "login-def"  # kept: the user's renewal replaces it
