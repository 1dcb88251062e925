"""Procountor client: M2M token cached and renewed, receipts listed then fetched in detail.

Contract: docs/erp-apis.md section 2. Detail calls run concurrently within the rate limit. Receipts
that are not official accounting (orders, unfinished, invalidated) are kept as one row each with
the reason, and no lines. VAT: transactions carry *net* values with a vatPercent; the connector
adds the implied VAT line (sales VAT to the VAT payable account, purchase VAT to the receivable
account, rounded half up to the cent) so every receipt balances in the general ledger.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx
import pyarrow as pa

from connectors import schemas
from connectors.errors import AuthenticationError, BadResponseError
from connectors.fiscal import FiscalPeriod
from connectors.http import MB, ApiSession, Retry, RetryPolicy, SessionClient
from connectors.parsing import CENT, account_number, iso_date, money
from connectors.schemas import MONEY, VAT_PERCENT
from connectors.spec import ClientSettings, CredentialField, Endpoint, ErpSpec, Incremental

SOURCE = "procountor"
MAX_PAGE_SIZE = 200
# Looked up with a receipt's `type` and `status` as given, which may be missing (None).
NOT_OFFICIAL_TYPES: dict[str | None, str] = {
    "PURCHASE_ORDER": "order, not an official business transaction",
    "SALES_ORDER": "order, not an official business transaction",
}
NOT_OFFICIAL_STATUSES: dict[str | None, str] = {
    "UNFINISHED": "unfinished receipt",
    "INVALIDATED": "invalidated receipt",
}
RENEW_BEFORE_EXPIRY = 60.0
REQUESTS_PER_SECOND = 18.0  # under the published 20 requests/s
# Index pages hold 200 receipts (about 100 kB), a receipt's detail its transactions (a payroll
# receipt with thousands of lines is a few MB), reports one row per account.
DEADLINE = 120.0
MAX_BODY_BYTES = 32 * MB

SCHEMAS: dict[str, pa.Schema] = {
    "accounts": pa.schema(
        [
            ("company_id", pa.string()),
            ("account_number", pa.string()),
            ("account_name", pa.string()),
            ("is_active", pa.bool_()),
        ]
    ),
    "periods": schemas.periods(),
    "dimensions": schemas.DIMENSIONS,
    "ledger": pa.schema(
        [
            ("company_id", pa.string()),
            ("fiscal_year", pa.int32()),
            ("period_id", pa.string()),
            ("receipt_id", pa.string()),
            ("receipt_type", pa.string()),
            ("receipt_status", pa.string()),
            ("receipt_number", pa.string()),
            ("receipt_date", pa.date32()),
            ("receipt_version", pa.string()),
            ("name", pa.string()),
            ("is_official", pa.bool_()),
            ("exclusion_reason", pa.string()),
            ("line_number", pa.int32()),
            ("transaction_type", pa.string()),
            ("account_number", pa.string()),
            ("amount", MONEY),
            ("vat_percent", VAT_PERCENT),
            ("vat_type", pa.string()),
            ("is_derived_vat", pa.bool_()),
            ("description", pa.string()),
            ("dimensions", pa.list_(pa.struct([("dimension_id", pa.string()), ("item_id", pa.string())]))),
        ]
    ),
    "account_balances": schemas.ACCOUNT_BALANCES_NET,
}


class ProcountorClient(SessionClient):
    source = SOURCE

    def __init__(
        self,
        company_id: str,
        base_url: str,
        client_id: str,
        client_secret: str,
        api_key: str,
        *,
        vat_payable_account: str = "2939",
        vat_receivable_account: str = "1763",
        max_concurrency: int = 4,
        requests_per_second: float | None = REQUESTS_PER_SECOND,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.company_id = company_id
        self._client_id, self._client_secret, self._api_key = client_id, client_secret, api_key
        self.vat_accounts = {"SALES": vat_payable_account, "PURCHASE": vat_receivable_account}
        self.max_concurrency = max_concurrency
        self.session = ApiSession(
            SOURCE,
            company_id,
            base_url.rstrip("/") + "/",
            max_concurrency=max_concurrency,
            retry=retry,
            transport=transport,
            rate_limit=requests_per_second,
            sleep=sleep or time.sleep,
            deadline=DEADLINE,
            max_body_bytes=MAX_BODY_BYTES,
            secrets=(client_id, client_secret, api_key),
        )
        self._clock = clock
        self._token: str | None = None
        self._token_expires = 0.0
        self._token_lock = threading.Lock()
        self.tokens_issued = 0
        self.pages_fetched = 0
        self.detail_calls = 0
        self._periods: list[FiscalPeriod] | None = None

    # -- auth ------------------------------------------------------------------------------------

    def _fetch_token(self) -> None:
        def classify(response: httpx.Response) -> dict[str, Any]:
            if response.status_code != 200:
                raise self.session.error(
                    BadResponseError, "oauth/token", f"HTTP {response.status_code} from the token endpoint"
                )
            try:
                token: dict[str, Any] = response.json()
                return token
            except ValueError:
                raise Retry("malformed JSON from the token endpoint") from None

        body = self.session.request(
            "POST",
            "oauth/token",
            endpoint="oauth/token",
            classify=classify,
            data={
                "grant_type": "client_credentials",
                "client_id": self._client_id,
                "client_secret": self._client_secret,
                "api_key": self._api_key,
            },
        )
        if "access_token" not in body:
            raise self.session.error(AuthenticationError, "oauth/token", "no access_token in the token response")
        self.session.register_secret(str(body["access_token"]), body.get("refresh_token"))
        self._token = body["access_token"]
        self._token_expires = self._clock() + float(body.get("expires_in", 3600))
        self.tokens_issued += 1

    def _authorize(self, request: httpx.Request) -> None:
        """Put the current token on this attempt, renewing it shortly before it expires."""
        with self._token_lock:
            if self._token is None or self._clock() >= self._token_expires - RENEW_BEFORE_EXPIRY:
                self._fetch_token()
            request.headers["Authorization"] = f"Bearer {self._token}"

    def _renew_after_401(self) -> bool:
        with self._token_lock:
            self._token = None  # the next attempt builds its header from a fresh token
        return True

    # -- transport -------------------------------------------------------------------------------

    def get(
        self,
        path: str,
        endpoint: str,
        params: dict[str, Any] | None = None,
        method: str = "GET",
        body: dict[str, Any] | None = None,
    ) -> Any:
        """Send a request with the current token and return the decoded JSON body (any shape)."""

        def classify(response: httpx.Response) -> Any:
            try:
                data = json.loads(response.content, parse_float=Decimal)
            except (ValueError, UnicodeDecodeError):
                raise Retry(f"malformed JSON in HTTP {response.status_code} response") from None
            if response.status_code >= 400:
                errors = data.get("errors") if isinstance(data, dict) else None
                text = "; ".join(str(e.get("message")) for e in errors or [] if isinstance(e, dict)) or "no error text"
                raise self.session.error(BadResponseError, endpoint, f"HTTP {response.status_code}: {text}")
            return data

        kwargs: dict[str, Any] = {"json": body} if body is not None else {}
        data = self.session.request(
            method,
            path,
            endpoint=endpoint,
            params=params,
            prepare=self._authorize,
            classify=classify,
            on_unauthorized=self._renew_after_401,
            **kwargs,
        )
        self.pages_fetched += 1
        return data

    def _bad(self, endpoint: str, cause: str) -> BadResponseError:
        return self.session.error(BadResponseError, endpoint, cause)

    # -- reference endpoints ---------------------------------------------------------------------

    def fiscal_periods(self) -> list[FiscalPeriod]:
        if self._periods is None:
            data = self.get("fiscalyears", "fiscalyears")
            try:
                self._periods = sorted(
                    (
                        FiscalPeriod(
                            str(y["id"]),
                            iso_date(y["startDate"], "startDate"),
                            iso_date(y["endDate"], "endDate"),
                            locked=not y.get("isOpen", True),
                        )
                        for y in data["fiscalYears"]
                    ),
                    key=lambda p: p.start,
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise self._bad("fiscalyears", f"unexpected fiscal year: {exc}") from None
        return self._periods

    def periods(self) -> Iterator[pa.RecordBatch]:
        yield pa.RecordBatch.from_pylist(
            [
                {
                    "company_id": self.company_id,
                    "period_id": p.id,
                    "start_date": p.start,
                    "end_date": p.end,
                    "fiscal_year": int(p.key),
                    "is_locked": p.locked,
                }
                for p in self.fiscal_periods()
            ],
            schema=SCHEMAS["periods"],
        )

    def accounts(self) -> Iterator[pa.RecordBatch]:
        data = self.get("coa", "coa")
        yield pa.RecordBatch.from_pylist(
            [
                {
                    "company_id": self.company_id,
                    "account_number": account_number(a["ledgerAccountCode"], "ledgerAccountCode"),
                    "account_name": a.get("name"),
                    "is_active": bool(a.get("active", True)),
                }
                for a in data.get("ledgerAccounts", [])
            ],
            schema=SCHEMAS["accounts"],
        )

    def dimensions(self) -> Iterator[pa.RecordBatch]:
        rows = []
        for dim in self.get("dimensions", "dimensions"):
            for item in dim.get("items", []):
                rows.append(
                    {
                        "company_id": self.company_id,
                        "dimension_type_id": str(dim["id"]),
                        "dimension_type_name": dim.get("name"),
                        "item_id": str(item["id"]),
                        "item_code": item.get("codeName"),
                        "item_name": item.get("description") or item.get("codeName"),
                        "is_active": item.get("status") != "P",
                    }
                )
        yield pa.RecordBatch.from_pylist(rows, schema=SCHEMAS["dimensions"])

    # -- fiscal-year endpoints -------------------------------------------------------------------

    def receipt_index(self, period: FiscalPeriod, version_since: str | None = None) -> list[dict[str, Any]]:
        """Receipts dated in the period (all types and statuses), paged by 200; with `version_since`,
        only those whose version is at or after it."""
        results: list[dict[str, Any]] = []
        page = 0
        while True:
            params: dict[str, Any] = {
                "startDate": period.start.isoformat(),
                "endDate": period.end.isoformat(),
                "page": page,
                "size": MAX_PAGE_SIZE,
                "orderById": "ASC",
            }
            if version_since:
                params["versionStartDate"] = version_since
            data = self.get("ledgerreceipts", "ledgerreceipts", params)
            batch = data.get("results") or []
            results.extend(batch)
            total = int(data.get("meta", {}).get("totalCount", len(results)))
            if not batch or len(results) >= total:
                return results
            page += 1

    def ledger(self, period: FiscalPeriod) -> Iterator[pa.RecordBatch]:
        return self._receipt_rows(self.receipt_index(period), period)

    def ledger_changes(self, periods: list[FiscalPeriod], since: str) -> tuple[set[str], Iterator[pa.RecordBatch]]:
        """What changed in these periods since a sync: receipts whose version is at or after `since`.

        Returns their ids (the stored rows to replace) and, lazily, their new rows; detail calls
        are made only for the changed official receipts. An edit in Procountor re-creates the
        receipt under a new id and invalidates the old one, so both show up here. The index is
        read before this returns, so the caller knows what to drop before rows arrive.
        """
        changed = [(period, self.receipt_index(period, version_since=since)) for period in periods]
        try:
            stale = {str(r["id"]) for _, index in changed for r in index}
        except (KeyError, TypeError) as exc:
            raise self._bad(
                "ledgerreceipts", f"receipt without an id in the change index since {since}: {exc}"
            ) from None

        def rows() -> Iterator[pa.RecordBatch]:
            for period, index in changed:
                yield from self._receipt_rows(index, period)

        return stale, rows()

    def _receipt_rows(self, index: list[dict[str, Any]], period: FiscalPeriod) -> Iterator[pa.RecordBatch]:
        official = [r for r in index if self._exclusion(r) is None]
        excluded = [r for r in index if self._exclusion(r) is not None]
        yield pa.RecordBatch.from_pylist(
            [self._header(r, period, self._exclusion(r)) for r in excluded], schema=SCHEMAS["ledger"]
        )
        chunk = 4 * self.max_concurrency
        with ThreadPoolExecutor(max_workers=self.max_concurrency, thread_name_prefix="procountor") as pool:
            for start in range(0, len(official), chunk):
                details = pool.map(self._detail, official[start : start + chunk])
                rows = [row for detail in details for row in self._lines(detail, period)]
                yield pa.RecordBatch.from_pylist(rows, schema=SCHEMAS["ledger"])

    def _detail(self, basic: dict[str, Any]) -> dict[str, Any]:
        self.detail_calls += 1
        detail: dict[str, Any] = self.get(f"ledgerreceipts/{basic['id']}", "ledgerreceipts/{id}")
        return detail

    @staticmethod
    def _exclusion(receipt: dict[str, Any]) -> str | None:
        return NOT_OFFICIAL_TYPES.get(receipt.get("type")) or NOT_OFFICIAL_STATUSES.get(receipt.get("status"))

    def _header(self, r: dict[str, Any], period: FiscalPeriod, reason: str | None) -> dict[str, Any]:
        return {
            "company_id": self.company_id,
            "fiscal_year": int(period.key),
            "period_id": period.id,
            "receipt_id": str(r["id"]),
            "receipt_type": r.get("type"),
            "receipt_status": r.get("status"),
            "receipt_number": None if r.get("receiptNumber") is None else str(r["receiptNumber"]),
            "receipt_date": iso_date(r.get("receiptDate"), "receiptDate"),
            "receipt_version": r.get("version"),
            "name": r.get("name"),
            "is_official": reason is None,
            "exclusion_reason": reason,
            "line_number": None,
            "transaction_type": None,
            "account_number": None,
            "amount": None,
            "vat_percent": None,
            "vat_type": None,
            "is_derived_vat": None,
            "description": None,
            "dimensions": [],
        }

    def _lines(self, receipt: dict[str, Any], period: FiscalPeriod) -> list[dict[str, Any]]:
        try:
            header = self._header(receipt, period, None)
            rows, number = [], 0
            for t in receipt.get("transactions") or []:
                # accountingValue is signed by design (debit +, credit -): no sign check here.
                amount = money(t.get("accountingValue"), "accountingValue")
                pct = Decimal(str(t.get("vatPercent") or 0))
                number += 1
                dims = [
                    {"dimension_id": str(d["dimensionId"]), "item_id": str(d["itemId"])}
                    for d in t.get("dimensionItemValues") or []
                ]
                rows.append(
                    {
                        **header,
                        "line_number": number,
                        "transaction_type": t.get("transactionType"),
                        "account_number": account_number(t.get("account"), "account"),
                        "amount": amount,
                        "vat_percent": pct,
                        "vat_type": t.get("vatType") or receipt.get("vatType"),
                        "is_derived_vat": False,
                        "description": t.get("description"),
                        "dimensions": dims,
                    }
                )
                if pct:
                    vat_type = t.get("vatType") or receipt.get("vatType")
                    if vat_type not in self.vat_accounts:
                        raise ValueError(f"transaction {t.get('id')}: vatPercent {pct} without SALES/PURCHASE vatType")
                    vat = (amount * pct / 100).quantize(CENT, rounding=ROUND_HALF_UP)
                    number += 1
                    rows.append(
                        {
                            **header,
                            "line_number": number,
                            "transaction_type": "VAT",
                            "account_number": self.vat_accounts[vat_type],
                            "amount": vat,
                            "vat_percent": Decimal(0),
                            "vat_type": vat_type,
                            "is_derived_vat": True,
                            "description": f"ALV {pct}% (derived from transaction {t.get('id')})",
                            "dimensions": [],
                        }
                    )
            return rows
        except (KeyError, TypeError, ValueError) as exc:
            raise self._bad("ledgerreceipts/{id}", f"receipt {receipt.get('id')}: {exc}") from None

    def account_balances(self, period: FiscalPeriod) -> Iterator[pa.RecordBatch]:
        data = self.get(
            "reports/ledgeraccounts",
            "reports/ledgeraccounts",
            method="POST",
            body={"startDate": period.start.isoformat(), "endDate": period.end.isoformat()},
        )
        rows = []
        for report in data.get("periods", []):
            for row in report.get("rows", []):
                rows.append(
                    {
                        "company_id": self.company_id,
                        "fiscal_year": int(period.key),
                        "period_id": period.id,
                        "account_number": account_number(row.get("ledgerAccountCode"), "ledgerAccountCode"),
                        "balance_date": iso_date(report.get("endDate"), "endDate"),
                        "balance": money(row.get("value"), "value"),
                    }
                )
        yield pa.RecordBatch.from_pylist(rows, schema=SCHEMAS["account_balances"])


def _client(settings: ClientSettings) -> ProcountorClient:
    return ProcountorClient(
        settings.company_id,
        settings.base_url,
        settings.secrets["client_id"],
        settings.secrets["client_secret"],
        settings.secrets["api_key"],
        retry=settings.retry,
        requests_per_second=settings.requests_per_second,
    )


SPEC = ErpSpec(
    name=SOURCE,
    title="Procountor",
    credentials=(
        CredentialField("client_id", "Client id of the M2M integration registered with Procountor"),
        CredentialField("client_secret", "Client secret of that M2M client"),
        CredentialField("api_key", "API key the company created for this client (Procountor: user menu > API-avaimet)"),
    ),
    default_base_url="https://api.procountor.com/latest/api",
    build_client=_client,
    requests_per_second=REQUESTS_PER_SECOND,
    default_deadline=DEADLINE,
    max_body_bytes=MAX_BODY_BYTES,
    docs="Procountor OpenAPI description and dev.procountor.com; docs/erp-apis.md section 2",
    endpoints=(
        Endpoint(SOURCE, "accounts", "company", SCHEMAS["accounts"], "Chart of accounts (/coa).",
                 lambda c: c.accounts()),
        Endpoint(SOURCE, "periods", "company", SCHEMAS["periods"], "Fiscal years (/fiscalyears).",
                 lambda c: c.periods()),
        Endpoint(SOURCE, "dimensions", "company", SCHEMAS["dimensions"], "Dimensions and items (/dimensions).",
                 lambda c: c.dimensions()),
        Endpoint(SOURCE, "ledger", "fiscal_year", SCHEMAS["ledger"],
                 "Ledger receipts of the fiscal year: official ones with their transactions and derived VAT "
                 "lines, the others with the reason they are excluded (/ledgerreceipts + /ledgerreceipts/{id}). "
                 "Incremental runs fetch details only for receipts changed since the last sync (versionStartDate).",
                 lambda c, p: c.ledger(p),
                 Incremental(key="receipt_id", cursor="receipt_version",
                             changes=lambda c, periods, since: c.ledger_changes(periods, since))),
        Endpoint(SOURCE, "account_balances", "fiscal_year", SCHEMAS["account_balances"],
                 "Balances Procountor reports at the fiscal year's end (/reports/ledgeraccounts).",
                 lambda c, p: c.account_balances(p)),
    ),
)  # fmt: skip
