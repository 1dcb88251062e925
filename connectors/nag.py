"""Nordic API Gateway (Mastercard Aiia Enterprise) client behind the BankAggregator interface.

Every call carries the client id and secret headers; data calls a Bearer access token, renewed
with an unattended login while the consent lasts (the returned loginToken replaces the stored one
at once). Contract: docs/erp-apis.md section 4.
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
from connectors.errors import BadResponseError
from connectors.http import MB, ApiSession, Retry, RetryPolicy, SessionClient
from connectors.parsing import iso_date, money
from connectors.spec import AggregatorSpec, BankClientSettings, CredentialField

SOURCE = "nag"
RENEW_MARGIN = timedelta(minutes=2)
# Account lists and transaction pages (one page per pagingToken) are small JSON answers.
DEADLINE = 120.0
MAX_BODY_BYTES = 32 * MB


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
        self.authorize_command = authorize_command or f"python -m orchestration.bank authorize {connection_id}"
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
        renewed = self._token_set(body, authorized_at=tokens.authorized_at)
        self.store.save(renewed)  # the rotated loginToken must be kept before anything else can fail
        return renewed.access_token

    # -- data ----------------------------------------------------------------------------------------

    def accounts(self) -> Iterator[pa.RecordBatch]:
        body = self._call("GET", "v2/accounts", "v2/accounts", authorized=True)
        rows = []
        for a in body.get("accounts", []):
            number = a.get("number") or {}
            rows.append(
                {
                    "company_id": self.company_id,
                    "connection_id": self.connection_id,
                    "account_id": a["id"],
                    "provider_id": a.get("providerId"),
                    "name": a.get("name"),
                    "iban": number.get("iban"),
                    "currency": (a.get("bookedBalance") or {}).get("currency", "EUR"),
                    "booked_balance": money((a.get("bookedBalance") or {}).get("value"), "bookedBalance"),
                    "available_balance": money((a.get("availableBalance") or {}).get("value"), "availableBalance"),
                    "account_type": a.get("type"),
                }
            )
        yield pa.RecordBatch.from_pylist(rows, schema=SCHEMAS["bank_accounts"])

    def transactions(self, account_id: str, start: date, end: date, fiscal_year: int) -> Iterator[pa.RecordBatch]:
        paging = None
        while True:
            params = {"fromDate": start.isoformat(), "toDate": end.isoformat()}
            if paging:
                params["pagingToken"] = paging
            body = self._call(
                "GET",
                f"v2/accounts/{account_id}/transactions",
                "v2/accounts/{id}/transactions",
                authorized=True,
                params=params,
            )
            rows = []
            for t in body.get("transactions", []):
                booking_date = iso_date(t.get("date"), "date")
                if not start <= booking_date <= end:
                    continue  # the aggregator's toDate is not trusted blindly
                rows.append(
                    {
                        "company_id": self.company_id,
                        "fiscal_year": fiscal_year,
                        "connection_id": self.connection_id,
                        "account_id": account_id,
                        "transaction_id": str(t["id"]),
                        "booking_date": booking_date,
                        "state": t.get("state"),
                        # signed by design (money out is negative): no sign check here
                        "amount": money((t.get("amount") or {}).get("value"), "amount"),
                        "currency": (t.get("amount") or {}).get("currency", "EUR"),
                        "balance": money((t.get("balance") or {}).get("value"), "balance"),
                        "text": t.get("text") or t.get("remittanceInformation"),
                        "type": t.get("type"),
                    }
                )
            yield pa.RecordBatch.from_pylist(rows, schema=SCHEMAS["bank_transactions"])
            paging = body.get("pagingToken")
            if not paging:
                return


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
