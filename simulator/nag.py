"""Nordic API Gateway (Aiia Enterprise) simulator: client headers, supervised and unattended logins,
short access tokens, longer consents, a rotating loginToken, and a clock tests can move.

Contract: docs/erp-apis.md section 4. Bank transactions come from each company's GL cash accounts
(1910 and 1911 are the two bank accounts). Transactions dated in the last days before the clock are
`Reserved` and later syncs see them `Booked`; card holds are pending for a few days, then vanish.

Deliberately incomplete answers for tests, per company (`/_sim/tamper` with api "nag"):
`missing_amount` sends the first transaction of an account's first page with an `amount` that has
no `value`; `missing_balance` sends the first account's `bookedBalance` without its `value`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from simulator.catalogue import Tenant, as_of, books_for
from simulator.faults import FAULTS, marker, tampered

PAGE_SIZE = 50
RESERVED_DAYS = 3
SESSION_LIFETIME = timedelta(hours=1)


@dataclass(frozen=True)
class Provider:
    id: str
    consent_days: int
    supports_unattended: bool


PROVIDERS = {
    "TestDataBank1": Provider("TestDataBank1", consent_days=180, supports_unattended=True),
    # A bank that needs the user present for every login, with a short consent.
    "TestBankNoUnattended": Provider("TestBankNoUnattended", consent_days=10, supports_unattended=False),
}


class SimClock:
    """Simulated time: tokens and consents run on real time plus an offset; the bank's business day
    is the books' last day plus the same offset. Tests move it forward (POST /_sim/clock)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def bank_day(self) -> date:
        return as_of() + timedelta(days=self.offset.days)

    def set(self, when: datetime) -> None:
        self.offset = when - datetime.now(UTC)


@dataclass
class Login:
    user_hash: str
    provider: Provider
    tenant: Tenant
    login_token: str
    expires: datetime
    access_tokens: dict[str, datetime] = field(default_factory=dict)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class NagSimulator:
    def __init__(self, tenants: list[Tenant], client_id: str, client_secret: str, clock: SimClock | None = None):
        self.client_id, self.client_secret = client_id, client_secret
        self.clock = clock or SimClock()
        # userHash is the company key in this simulator; the provider is chosen per tenant's connection
        self.tenants = {t.profile.key: t for t in tenants if t.erp in ("fennoa", "netvisor", "procountor")}
        self.providers: dict[str, str] = {}  # user hash -> provider id (set when the flow starts)
        self.pending_codes: dict[str, tuple[str, str]] = {}  # code -> (user hash, provider id)
        self.logins: dict[str, Login] = {}  # login token -> login
        self.access: dict[str, Login] = {}  # access token -> login

    def error(self, status: int, message: str) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status)

    def client_ok(self, request: Request) -> bool:
        return (
            request.headers.get("x-client-id") == self.client_id
            and request.headers.get("x-client-secret") == self.client_secret
        )

    def token_set(self, login: Login) -> dict:
        now = self.clock.now()
        access = secrets.token_urlsafe(24)
        expires = now + SESSION_LIFETIME
        login.access_tokens[access] = expires
        self.access[access] = login
        return {
            "success": True,
            "providerId": login.provider.id,
            "session": {"accessToken": access, "expires": _iso(expires)},
            "login": {
                "loginToken": login.login_token,
                "expires": _iso(login.expires),
                "supportsUnattended": login.provider.supports_unattended,
                "providerId": login.provider.id,
                "label": f"{login.provider.id} login",
                "subjectId": login.user_hash,
            },
        }

    async def dispatch(self, request: Request) -> Response:
        fault = await FAULTS.apply("nag")
        if marker(fault) == "token_expired":
            header = request.headers.get("authorization", "")
            login = self.access.get(header[7:])
            if login is not None and login.provider.supports_unattended:
                self.access.pop(header[7:], None)  # the access token dies mid-run
            else:
                # A dead session at a bank that needs the user present is not a transient fault: a person
                # must log in again (the consent sensor says so). Not injected, not counted.
                FAULTS.log[("nag", "token_expired")] -= 1
        elif fault is not None and marker(fault) is None:
            return fault
        path = request.path_params["path"].strip("/")
        if path == "consent":  # the "bank's" consent page: approves at once and redirects back
            return self.consent(request)
        if not self.client_ok(request):
            return self.error(401, "invalid client credentials")
        try:
            if request.method == "POST" and path == "v1/authentication/initialize":
                return await self.initialize(request)
            if request.method == "POST" and path == "v1/authentication/tokens":
                return await self.tokens(request)
            if request.method == "POST" and path == "v1/authentication/unattended":
                return await self.unattended(request)
            if request.method == "GET" and path.startswith("v2/accounts"):
                return self.accounts_api(request, path)
        except (KeyError, ValueError) as exc:
            return self.error(400, f"bad request: {exc}")
        return self.error(404, "not found")

    async def initialize(self, request: Request) -> Response:
        body = await request.json()
        user_hash, redirect = body["userHash"], body["redirectUrl"]
        if user_hash not in self.tenants:
            return self.error(400, "unknown userHash")
        provider = body.get("providerId", "TestDataBank1")
        if provider not in PROVIDERS:
            return self.error(400, "unknown providerId")
        state = secrets.token_urlsafe(8)
        self.providers[state] = f"{user_hash}|{provider}|{redirect}"
        base = str(request.url).split("/v1/authentication")[0]  # keeps the mount prefix (/nag)
        return JSONResponse({"authUrl": f"{base}/consent?{urlencode({'state': state})}"})

    def consent(self, request: Request) -> Response:
        entry = self.providers.pop(request.query_params.get("state", ""), None)
        if entry is None:
            return self.error(400, "unknown or used state")
        user_hash, provider, redirect = entry.split("|", 2)
        code = secrets.token_urlsafe(16)
        self.pending_codes[code] = (user_hash, provider)
        return RedirectResponse(
            f"{redirect}{'&' if '?' in redirect else '?'}{urlencode({'code': code})}", status_code=302
        )

    async def tokens(self, request: Request) -> Response:
        body = await request.json()
        entry = self.pending_codes.pop(body["code"], None)
        if entry is None:
            return self.error(400, "invalid or used code")
        user_hash, provider_id = entry
        provider = PROVIDERS[provider_id]
        login = Login(
            user_hash,
            provider,
            self.tenants[user_hash],
            secrets.token_urlsafe(24),
            self.clock.now() + timedelta(days=provider.consent_days),
        )
        self.logins[login.login_token] = login
        return JSONResponse(self.token_set(login))

    async def unattended(self, request: Request) -> Response:
        body = await request.json()
        login = self.logins.get(body["loginToken"])
        if login is None or login.user_hash != body["userHash"]:
            return self.error(401, "invalid loginToken")
        if not login.provider.supports_unattended:
            return self.error(400, "provider does not support unattended login")
        if self.clock.now() >= login.expires:
            return self.error(401, "login expired: a supervised login is required")
        del self.logins[login.login_token]  # rotate the loginToken; the old one stops working
        login.login_token = secrets.token_urlsafe(24)
        self.logins[login.login_token] = login
        return JSONResponse(self.token_set(login))

    def authorised(self, request: Request) -> Login | None:
        header = request.headers.get("authorization", "")
        token = header[7:] if header.lower().startswith("bearer ") else ""
        login = self.access.get(token)
        if login is None or login.access_tokens.get(token, datetime.min.replace(tzinfo=UTC)) <= self.clock.now():
            return None
        if self.clock.now() >= login.expires:
            return None
        return login

    def accounts_api(self, request: Request, path: str) -> Response:
        login = self.authorised(request)
        if login is None:
            return self.error(401, "access token expired or invalid")
        parts = path.split("/")
        accounts = self.bank_accounts(login)
        if len(parts) == 2:
            listed = [a["api"] for a in accounts.values()]
            if listed and tampered("nag", login.tenant.profile.key, "missing_balance"):
                listed[0] = dict(listed[0], bookedBalance={"currency": "EUR"})
            return JSONResponse({"accounts": listed, "pagingToken": None})
        if len(parts) == 4 and parts[3] == "transactions":
            account = accounts.get(parts[2])
            if account is None:
                return self.error(404, "unknown account")
            return self.transactions(request, login, account)
        return self.error(404, "not found")

    def bank_accounts(self, login: Login) -> dict[str, dict]:
        tenant = login.tenant
        books = books_for(tenant.profile, as_of())
        out = {}
        for n, gl_account in enumerate(("1910", "1911"), start=1):
            account_id = f"acc-{tenant.profile.key}-{n}"
            txs = self.all_transactions(login, gl_account)
            booked = [t for t in txs if t["state"] == "Booked"]
            balance = float(booked[-1]["balance"]["value"]) if booked else 0.0
            iban = f"FI{10 + n}{tenant.profile.seed:04d}{n:010d}"
            out[account_id] = {
                "gl_account": gl_account,
                "transactions": txs,
                "api": {
                    "id": account_id,
                    "providerId": login.provider.id,
                    "name": "Käyttötili" if n == 1 else "Säästötili",
                    "number": {"bbanType": "FI", "iban": iban, "bban": iban[4:]},
                    "bookedBalance": {"value": balance, "currency": "EUR"},
                    "availableBalance": {"value": balance, "currency": "EUR"},
                    "type": "Consumption" if n == 1 else "Savings",
                    "features": {"queryable": True, "psdPaymentAccount": n == 1},
                },
            }
        del books
        return out

    def all_transactions(self, login: Login, gl_account: str) -> list[dict]:
        """The bank's view of a GL cash account as of the simulated clock."""
        books = books_for(login.tenant.profile, as_of())
        today = self.clock.bank_day()
        balance = Decimal(0)
        out = []
        first_start = books.fiscal_years[0].start
        for voucher in books.valid_vouchers:
            if voucher.date > today:
                break
            if voucher.is_opening and voucher.date != first_start:
                continue  # a carried-forward opening balance is bookkeeping, not a bank transaction
            for index, line in enumerate(voucher.lines):
                if line.account != gl_account:
                    continue
                reserved = voucher.date > today - timedelta(days=RESERVED_DAYS)
                if not reserved:
                    balance += line.amount
                out.append(
                    {
                        "id": f"{voucher.date:%Y%m%d}-{voucher.id}-{index}",
                        "date": voucher.date.isoformat(),
                        "creationTime": None,
                        "text": voucher.description[:60],
                        "originalText": voucher.description,
                        "details": None,
                        "category": {"id": "0", "setId": "DK"},
                        "amount": {"value": float(line.amount), "currency": "EUR"},
                        "balance": {"value": float(balance), "currency": "EUR"},
                        "type": "Transfer",
                        "state": "Reserved" if reserved else "Booked",
                    }
                )
        if gl_account == "1910":
            # Card authorisation holds: pending for a few days, then released, never booked.
            for days_ago in range(RESERVED_DAYS):
                day = today - timedelta(days=days_ago)
                if day.toordinal() % RESERVED_DAYS == 0:  # exactly one hold pending at any time
                    out.append(
                        {
                            "id": f"hold-{day:%Y%m%d}",
                            "date": day.isoformat(),
                            "creationTime": None,
                            "text": "Korttivaraus",
                            "originalText": "Korttivaraus / card hold",
                            "details": None,
                            "category": {"id": "0", "setId": "DK"},
                            "amount": {"value": -42.5, "currency": "EUR"},
                            "balance": {"value": float(balance), "currency": "EUR"},
                            "type": "Card",
                            "state": "Reserved",
                        }
                    )
        return out

    def transactions(self, request: Request, login: Login, account: dict) -> Response:
        q = request.query_params
        start = date.fromisoformat(q["fromDate"]) if q.get("fromDate") else date.min
        end = date.fromisoformat(q["toDate"]) if q.get("toDate") else date.max
        rows = [t for t in account["transactions"] if start <= date.fromisoformat(t["date"]) <= end]
        offset = int(q.get("pagingToken") or 0)
        page = rows[offset : offset + PAGE_SIZE]
        if page and offset == 0 and tampered("nag", login.tenant.profile.key, "missing_amount"):
            page = [dict(page[0], amount={"currency": page[0]["amount"]["currency"]}), *page[1:]]
        token = str(offset + PAGE_SIZE) if offset + PAGE_SIZE < len(rows) else None
        return JSONResponse({"transactions": page, "pagingToken": token})

    async def admin_clock(self, request: Request) -> Response:
        """POST {"set": "2026-06-01T12:00:00Z"}, {"advance_days": 14} or {"reset": true}; GET returns the time."""
        if request.method == "POST":
            body = await request.json()
            if body.get("reset"):
                self.clock.offset = timedelta(0)
            if "set" in body:
                self.clock.set(datetime.fromisoformat(body["set"].replace("Z", "+00:00")))
            if "advance_days" in body:
                self.clock.offset += timedelta(days=float(body["advance_days"]))
        return JSONResponse({"now": _iso(self.clock.now()), "bank_day": self.clock.bank_day().isoformat()})

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/{path:path}", self.dispatch, methods=["GET", "POST"])])
