"""Nordic API Gateway (Mastercard Aiia Enterprise) client behind the BankAggregator interface.

Every call carries the client id and secret headers; data calls a Bearer access token, renewed
with an unattended login while the consent lasts (the returned loginToken replaces the stored one
at once). Contract: docs/erp-apis.md section 4.

The data payloads are assumptions. No public Nordic API Gateway v2 payload was found; the field
names below are the ones two public clients of the live API read (Saldi's bank integration and an
older JS collector, docs/erp-apis.md 4.3), and only the transaction states are vendor-documented.
So every response is checked against what the client assumes (see the constants below) and a
shape it does not know is a BadResponseError naming the connection, the account and the
transaction, never a row of zeros:

- `GET v2/accounts` -> {"accounts": [account...], "pagingToken": text|null}; further pages are
  asked with `pagingToken` as for transactions (assumed: the client the docs cite reads one page).
  An account must have `id`, `bookedBalance` and `availableBalance`, each {"value", "currency"}.
- `GET v2/accounts/{id}/transactions?fromDate&toDate[&pagingToken]` -> {"transactions": [...],
  "pagingToken": text|null}. A transaction must have `id`, `date`, `state` (Booked, Reserved or
  Scheduled: documented), `amount` {"value", "currency"} and `balance` {"value"} (the running
  balance after it); `text` (else `remittanceInformation`), `type` are optional.
- A money value must be present: absent or null is an error; 0.00 is read only where the API
  writes 0. A currency must be present (never assumed to be EUR).
- Aiia Data v1 names (`booked`, `available`, `transactionAmount`, `accountProvider`) are a shape
  this client does not read: they are rejected with a message that says so.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pyarrow as pa

from connectors.bank import SCHEMAS, BankAggregator, ConsentExpiredError, TokenSet, TokenStore, consent_expiry
from connectors.errors import AuthenticationError, BadResponseError
from connectors.http import MB, ApiSession, Retry, RetryPolicy, SessionClient
from connectors.parsing import iso_date, money, text
from connectors.spec import AggregatorSpec, BankClientSettings, CredentialField

SOURCE = "nag"
RENEW_MARGIN = timedelta(minutes=2)
# Account lists and transaction pages (one page per pagingToken) are small JSON answers.
DEADLINE = 120.0
MAX_BODY_BYTES = 32 * MB

# What the client assumes of the v2 payloads (see the module docstring).
ACCOUNTS_KEY, TRANSACTIONS_KEY, PAGING_KEY = "accounts", "transactions", "pagingToken"
ACCOUNT_BALANCES = ("bookedBalance", "availableBalance")  # each {"value": number, "currency": text}
TRANSACTION_STATES = frozenset({"Booked", "Reserved", "Scheduled"})  # [C-vendor] handling changes
# Aiia Data v1's names for the same things: seen in a response, the shape is not the one assumed here.
AIIA_DATA_FIELDS = {
    "booked": "bookedBalance",
    "available": "availableBalance",
    "transactionAmount": "amount",
    "accountProvider": "providerId",
}


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class NagClient(SessionClient, BankAggregator):
    def __init__(
        self,
        company_id: str,
        connection_id: str,
        base_url: str,
        client_id: str,
        client_secret: str,
        store: TokenStore,
        *,
        user_hash: str | None = None,
        provider_id: str | None = None,
        fallback_consent_days: int = 90,
        authorize_command: str = "",
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], datetime] = _utcnow,
        sleep: Callable[[float], None] | None = None,
    ):
        self.company_id, self.connection_id = company_id, connection_id
        self.user_hash = user_hash or company_id
        self.provider_id = provider_id
        self.store = store
        self.fallback = timedelta(days=fallback_consent_days)
        self.authorize_command = authorize_command or f"nordledger bank authorize {connection_id}"
        self.clock = clock
        self.session = ApiSession(
            SOURCE,
            company_id,
            base_url.rstrip("/") + "/",
            retry=retry,
            transport=transport,
            headers={"X-Client-Id": client_id, "X-Client-Secret": client_secret},
            sleep=sleep or time.sleep,
            deadline=DEADLINE,
            max_body_bytes=MAX_BODY_BYTES,
            secrets=(client_id, client_secret),
        )
        self.pages_fetched = 0

    def _call(self, method: str, path: str, endpoint: str, *, authorized: bool = False, **kwargs: Any) -> Any:
        def classify(response: httpx.Response) -> Any:
            try:
                body = json.loads(response.content, parse_float=Decimal)
            except ValueError:
                raise Retry(f"malformed JSON in HTTP {response.status_code} response") from None
            if response.status_code >= 400:
                raise self.session.error(
                    BadResponseError,
                    endpoint,
                    f"HTTP {response.status_code}: "
                    f"{body.get('error', 'no error text') if isinstance(body, dict) else ''}",
                )
            return body

        def bearer(request: httpx.Request) -> None:
            if authorized:
                request.headers["Authorization"] = f"Bearer {self.access_token()}"

        def renew() -> bool:
            # The aggregator rejected a token we thought valid (revoked, or clocks disagree): renew once.
            self.access_token(force_renew=True)
            return True

        body = self.session.request(
            method,
            path,
            endpoint=endpoint,
            prepare=bearer,
            classify=classify,
            on_unauthorized=renew if authorized else None,
            **kwargs,
        )
        self.pages_fetched += 1
        return body

    def _token_set(self, body: dict[str, Any], authorized_at: datetime) -> TokenSet:
        try:
            self._register(body["session"]["accessToken"], body["login"]["loginToken"])
            return TokenSet(
                access_token=body["session"]["accessToken"],
                access_expires=_parse_time(body["session"]["expires"]),
                login_token=body["login"]["loginToken"],
                login_expires=_parse_time(body["login"]["expires"]),
                supports_unattended=bool(body["login"].get("supportsUnattended")),
                provider_id=body.get("providerId") or body["login"].get("providerId", ""),
                authorized_at=authorized_at,
            )
        except (KeyError, TypeError, ValueError):
            raise self.session.error(
                BadResponseError, "authentication", "token response without session/login"
            ) from None

    def _register(self, *tokens: object) -> None:
        self.session.register_secret(*(t for t in tokens if isinstance(t, str)))

    def _load(self) -> TokenSet | None:
        tokens = self.store.load()
        if tokens is not None:
            self._register(tokens.access_token, tokens.login_token)
        return tokens

    # -- consent -----------------------------------------------------------------------------------

    def start_authorization(self, redirect_url: str) -> str:
        body = {"userHash": self.user_hash, "redirectUrl": redirect_url, "language": "fi"}
        if self.provider_id:
            body["providerId"] = self.provider_id
        url: str = self._call("POST", "v1/authentication/initialize", "authentication/initialize", json=body)["authUrl"]
        return url

    def complete_authorization(self, code: str) -> TokenSet:
        self._register(code)
        body = self._call("POST", "v1/authentication/tokens", "authentication/tokens", json={"code": code})
        tokens = self._token_set(body, authorized_at=self.clock())
        self.store.save(tokens)
        return tokens

    def consent_expires(self) -> datetime | None:
        return consent_expiry(self.store.load(), self.fallback)

    def _expired(self, why: str) -> ConsentExpiredError:
        return ConsentExpiredError(
            SOURCE,
            self.company_id,
            f"connection {self.connection_id}",
            f"{why}; re-authorize with: {self.authorize_command}",
        )

    def access_token(self, force_renew: bool = False) -> str:
        tokens = self._load()
        if tokens is None:
            raise self._expired("never authorized")
        now = self.clock()
        if tokens.access_expires - RENEW_MARGIN > now and not force_renew:
            return tokens.access_token
        if now >= tokens.login_expires and not force_renew:
            raise self._expired(f"bank consent expired on {tokens.login_expires:%Y-%m-%d}")
        if not tokens.supports_unattended:
            raise self._expired("this bank needs the user present for every login")
        try:
            body = self._call(
                "POST",
                "v1/authentication/unattended",
                "authentication/unattended",
                json={"userHash": self.user_hash, "loginToken": tokens.login_token},
            )
        except BadResponseError as exc:
            raise self._expired(f"unattended login refused ({exc.cause})") from None
        except AuthenticationError:
            # NAG does not document what /unattended answers for a login token it no longer accepts; any
            # refusal there needs the user back (as the public clients treat it), not new client credentials
            raise self._expired(
                "the bank refused the stored login (unattended login answered with an authentication error)"
            ) from None
        renewed = self._token_set(body, authorized_at=tokens.authorized_at)
        self.store.save(renewed)  # the rotated loginToken must be kept before anything else can fail
        return renewed.access_token

    # -- data ----------------------------------------------------------------------------------------

    def _shape(self, endpoint: str, where: str, cause: str) -> BadResponseError:
        return self.session.error(BadResponseError, endpoint, f"connection {self.connection_id}, {where}: {cause}")

    def _list(self, body: Any, key: str, endpoint: str, where: str) -> tuple[list[Any], str | None]:
        """The rows under `key` and the next paging token of a list response, or an error naming `where`."""
        if not isinstance(body, dict):
            raise self._shape(endpoint, where, f"expected a JSON object, got {type(body).__name__}")
        rows = body.get(key)
        if not isinstance(rows, list):
            found = ", ".join(sorted(str(k) for k in body)[:12]) or "none"
            raise self._shape(endpoint, where, f"response has no '{key}' list (keys: {found}): an unknown shape")
        paging = body.get(PAGING_KEY)
        if paging is not None and not isinstance(paging, str):
            raise self._shape(endpoint, where, f"{PAGING_KEY} is {type(paging).__name__}, expected text or null")
        return rows, paging or None

    def _pages(self, path: str, endpoint: str, key: str, where: str, params: dict[str, str]) -> Iterator[list[Any]]:
        """Each page's rows, following pagingToken until it is null; a token seen before is an error."""
        seen: set[str] = set()
        paging: str | None = None
        page = 1
        while True:
            query = dict(params, pagingToken=paging) if paging else params
            body = self._call("GET", path, endpoint, authorized=True, params=query)
            rows, paging = self._list(body, key, endpoint, f"{where}page {page}")
            yield rows
            if paging is None:
                return
            if paging in seen:
                raise self._shape(endpoint, f"{where}page {page}", "pagingToken repeats an earlier page's")
            seen.add(paging)
            page += 1

    def accounts(self) -> Iterator[pa.RecordBatch]:
        rows = []
        for number, page in enumerate(self._pages("v2/accounts", "v2/accounts", ACCOUNTS_KEY, "", {}), start=1):
            for index, a in enumerate(page):
                aid = a.get("id") if isinstance(a, dict) else None
                where = f"page {number}, " + (
                    f"account {aid!r}" if aid not in (None, "") else f"account #{index} (no id)"
                )
                try:
                    rows.append(self._account(a))
                except (KeyError, TypeError, ValueError) as exc:
                    raise self._shape("v2/accounts", where, _reason(exc)) from None
        yield pa.RecordBatch.from_pylist(rows, schema=SCHEMAS["bank_accounts"])

    def _account(self, a: Any) -> dict[str, Any]:
        if not isinstance(a, dict):
            raise TypeError(f"expected an account object, got {type(a).__name__}")
        _known_names(a)
        account_id = _required_text(a, "id")
        booked, currency = _money_object(a, "bookedBalance")
        available, _ = _money_object(a, "availableBalance")
        number = a.get("number")
        if number is not None and not isinstance(number, dict):
            raise TypeError(f"number: expected an object, got {type(number).__name__}")
        return {
            "company_id": self.company_id,
            "connection_id": self.connection_id,
            "account_id": account_id,
            "provider_id": text(a.get("providerId"), "providerId"),
            "name": text(a.get("name"), "name"),
            "iban": text((number or {}).get("iban"), "number.iban"),
            "currency": currency,
            "booked_balance": booked,
            "available_balance": available,
            "account_type": text(a.get("type"), "type"),
        }

    def transactions(self, account_id: str, start: date, end: date, fiscal_year: int) -> Iterator[pa.RecordBatch]:
        endpoint = "v2/accounts/{id}/transactions"
        params = {"fromDate": start.isoformat(), "toDate": end.isoformat()}
        pages = self._pages(
            f"v2/accounts/{account_id}/transactions", endpoint, TRANSACTIONS_KEY, f"account {account_id}, ", params
        )
        for number, page in enumerate(pages, start=1):
            rows = []
            for index, t in enumerate(page):
                tid = t.get("id") if isinstance(t, dict) else None
                where = f"account {account_id}, page {number}, " + (
                    f"transaction {tid!r}" if tid not in (None, "") else f"transaction #{index} (no id)"
                )
                try:
                    row = self._transaction(t, account_id, fiscal_year)
                except (KeyError, TypeError, ValueError) as exc:
                    raise self._shape(endpoint, where, _reason(exc)) from None
                if start <= row["booking_date"] <= end:  # the aggregator's toDate is not trusted blindly
                    rows.append(row)
            yield pa.RecordBatch.from_pylist(rows, schema=SCHEMAS["bank_transactions"])

    def _transaction(self, t: Any, account_id: str, fiscal_year: int) -> dict[str, Any]:
        if not isinstance(t, dict):
            raise TypeError(f"expected a transaction object, got {type(t).__name__}")
        _known_names(t)
        state = _required_text(t, "state")
        if state not in TRANSACTION_STATES:
            raise ValueError(f"state: {state!r} is not one of {', '.join(sorted(TRANSACTION_STATES))}")
        amount, currency = _money_object(t, "amount")  # signed by design (money out is negative)
        balance, _ = _money_object(t, "balance", currency=False)
        description = t.get("text")
        return {
            "company_id": self.company_id,
            "fiscal_year": fiscal_year,
            "connection_id": self.connection_id,
            "account_id": account_id,
            "transaction_id": _required_text(t, "id"),
            "booking_date": iso_date(t["date"], "date"),
            "state": state,
            "amount": amount,
            "currency": currency,
            "balance": balance,
            "text": text(description if description not in (None, "") else t.get("remittanceInformation"), "text"),
            "type": text(t.get("type"), "type"),
        }


def _reason(exc: Exception) -> str:
    return f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)


def _known_names(record: dict[str, Any]) -> None:
    """An object that carries Aiia Data v1 names where this client expects the v2 ones is not read."""
    for name, expected in AIIA_DATA_FIELDS.items():
        if name in record and expected not in record:
            raise ValueError(
                f"field {name!r} where {expected!r} is expected: an Aiia Data v1 shape, which this client does not read"
            )


def _required_text(record: dict[str, Any], name: str, label: str | None = None) -> str:
    value = text(record.get(name), label or name)
    if value is None or not value.strip():
        raise ValueError(f"{label or name}: missing")
    return value


def _money_object(record: dict[str, Any], name: str, *, currency: bool = True) -> tuple[Decimal, str | None]:
    """A {"value", "currency"} object: the value must be present (zero only where the API says 0);
    with `currency`, so must the currency."""
    value = record.get(name)
    if value is None:
        raise ValueError(f"{name}: missing amount")
    if not isinstance(value, dict):
        raise TypeError(f"{name}: expected {{value, currency}}, got {type(value).__name__}")
    amount = money(value.get("value"), f"{name}.value")
    if not currency:
        return amount, None
    return amount, _required_text(value, "currency", f"{name}.currency").strip()


def _client(settings: BankClientSettings) -> NagClient:
    return NagClient(
        settings.company_id,
        settings.connection_id,
        settings.base_url,
        settings.secrets["client_id"],
        settings.secrets["client_secret"],
        TokenStore(settings.token_path),
        provider_id=settings.provider_id,
        fallback_consent_days=settings.fallback_consent_days,
        retry=settings.retry,
    )


SPEC = AggregatorSpec(
    name="nordic_api_gateway",
    title="Nordic API Gateway",
    source=SOURCE,
    credentials=(
        CredentialField("client_id", "Client id of the Nordic API Gateway application"),
        CredentialField("client_secret", "Client secret of that application"),
    ),
    default_base_url="https://api.nordicapigateway.com",
    build_client=_client,
    schemas=SCHEMAS,
    default_deadline=DEADLINE,
    max_body_bytes=MAX_BODY_BYTES,
)
