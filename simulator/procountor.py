"""Procountor API simulator: M2M OAuth tokens that expire, 20 requests/s, list + detail receipts.

Follows docs/erp-apis.md section 2. Receipt transactions carry *net* accountingValues with a
vatPercent (VAT rows are implied, as in Procountor's own examples); an edited receipt lives on as
an INVALIDATED receipt while the new version gets a new id; purchase and sales orders and
unfinished receipts are present but are not official accounting.
"""

from __future__ import annotations

import secrets
import time
from collections import deque
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from functools import cached_property
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from simulator.books import Books, Line, Voucher
from simulator.catalogue import Tenant, as_of, books_for
from simulator.faults import FAULTS, marker

MAX_SIZE = 200
VAT_ACCOUNTS = {"1763", "2939"}
TYPES = {
    "IN": "SALES_INVOICE",
    "PU": "PURCHASE_INVOICE",
    "PJ": "BANK_STATEMENT_AS_RECEIPT",
    "GL": "JOURNAL",
    "OB": "RECEIPT_FOR_OPENING_ACCOUNTS",
}


@dataclass
class Receipt:
    id: int
    type: str
    status: str
    voucher: Voucher
    lines: list[Line]
    version: str

    def basic(self) -> dict:
        return {
            "id": self.id,
            "type": self.type,
            "status": self.status,
            "name": self.voucher.description[:80],
            "receiptDate": self.voucher.date.isoformat(),
            "receiptNumber": self.voucher.number,
            "invoiceNumber": None,
            "created": f"{self.voucher.date.isoformat()}T09:00:00",
            "version": self.version,
        }

    def detail(self, dimension_ids: dict[str, tuple[int, dict[str, int]]]) -> dict:
        has_vat = any(line.vat_percent for line in self.lines)
        vat_types = {line.vat_code for line in self.lines if line.vat_percent}
        vat_type = "SALES" if "ALV_MYYNTI" in vat_types else "PURCHASE" if vat_types else None
        transactions = []
        for i, line in enumerate(self.lines, start=1):
            if has_vat and line.account in VAT_ACCOUNTS and not line.vat_percent:
                continue  # the VAT row is implied by vatPercent on the net row
            dims = []
            for type_id, code in line.dimensions:
                dim_id, items = dimension_ids[type_id]
                dims.append({"dimensionId": dim_id, "itemId": items[code], "value": float(line.amount)})
            transactions.append(
                {
                    "id": i,
                    "transactionType": "ENTRY" if line.vat_percent else "REVERSING_ENTRY",
                    "account": line.account,
                    "accountingValue": float(line.amount),
                    "vatPercent": float(line.vat_percent),
                    "vatType": vat_type if line.vat_percent else None,
                    "vatStatus": 1 if line.vat_percent else None,
                    "description": line.description,
                    "dimensionItemValues": dims,
                }
            )
        return {
            **self.basic(),
            "vatType": vat_type,
            "vatStatus": 1,
            "vatProcessing": "FINLAND",
            "transactions": transactions,
            "attachments": [],
        }


class ProcountorCompany:
    def __init__(self, tenant: Tenant, books: Books):
        self.tenant, self.books = tenant, books
        self.adjustments: list[tuple[date, str, Decimal]] = []  # (date, account, amount) from change()

    @cached_property
    def receipts(self) -> list[Receipt]:
        out: list[Receipt] = []
        next_id = 800_000 + 10_000 * (self.tenant.profile.seed % 50)
        for v in self.books.vouchers:
            version = f"{v.date.isoformat()}T12:00:00"
            if v.superseded_lines:
                out.append(Receipt(next_id, TYPES[v.series], "INVALIDATED", v, v.superseded_lines, version))
                next_id += 1
                version = f"{v.date.isoformat()}T15:30:00"
            status = {"valid": "APPROVED", "invalidated": "INVALIDATED", "deleted": "INVALIDATED"}[v.status]
            out.append(Receipt(next_id, TYPES[v.series], status, v, v.lines, version))
            next_id += 1
            if v.series == "IN" and v.id % 23 == 0:  # orders and drafts: present, not official
                out.append(Receipt(next_id, "SALES_ORDER", "APPROVED", v, v.lines, version))
                next_id += 1
            if v.series == "PU" and v.id % 29 == 0:
                out.append(Receipt(next_id, "PURCHASE_INVOICE", "UNFINISHED", v, v.lines, version))
                next_id += 1
        return out

    @cached_property
    def by_id(self) -> dict[int, Receipt]:
        return {r.id: r for r in self.receipts}

    def change(self, fiscal_year: str, share: float, version: str) -> dict:
        """Change about `share` of a fiscal year's lines as a bookkeeper would, all at `version`:
        every other picked receipt is edited (the old one INVALIDATED, a corrected copy with a new
        id and reversed amounts), the others get a new duplicate receipt. For the nightly-refresh
        benchmark; balance reports follow the change."""
        fy = next(f for f in self.books.fiscal_years if f.key == fiscal_year)
        official = set(TYPES.values()) - {"RECEIPT_FOR_OPENING_ACCOUNTS"}
        candidates = [
            r
            for r in self.receipts
            if r.status == "APPROVED" and r.type in official and fy.start <= r.voucher.date <= fy.end
        ]
        target = share * sum(len(r.lines) for r in candidates)
        next_id = max(self.by_id) + 1
        edited = added = lines = 0
        for n, receipt in enumerate(candidates[:: max(1, round(1 / share))]):
            if lines >= target:
                break
            if n % 2 == 0:
                receipt.status, receipt.version = "INVALIDATED", version
                new_lines = [replace(line, amount=-line.amount) for line in receipt.lines]
                self.adjustments.extend((receipt.voucher.date, line.account, -line.amount) for line in receipt.lines)
                edited += 1
            else:
                new_lines = list(receipt.lines)
                added += 1
            self.adjustments.extend((receipt.voucher.date, line.account, line.amount) for line in new_lines)
            self.receipts.append(Receipt(next_id, receipt.type, "APPROVED", receipt.voucher, new_lines, version))
            next_id += 1
            lines += len(receipt.lines)
        self.__dict__.pop("by_id", None)
        return {"edited": edited, "added": added, "lines": lines, "fiscal_year_lines": int(target / share)}

    def balance(self, account: str, on: date) -> Decimal:
        debit, credit = self.books.balance(account, on)
        start = self.books.fiscal_year_of(on).start
        return (
            debit
            - credit
            + sum(
                (amount for day, acc, amount in self.adjustments if acc == account and start <= day <= on), Decimal(0)
            )
        )

    @cached_property
    def dimension_ids(self) -> dict[str, tuple[int, dict[str, int]]]:
        out = {}
        for n, (type_id, (_, items)) in enumerate(self.books.dimension_types.items()):
            dim_id = 279_000 + n
            out[type_id] = (dim_id, {code: 777_000 + 10 * n + i for i, (code, _) in enumerate(items)})
        return out


class ProcountorSimulator:
    def __init__(self, tenants: list[Tenant], token_lifetime: float = 3600.0, rate_per_second: int = 20):
        self.token_lifetime = token_lifetime
        self.rate_per_second = rate_per_second
        self.tenants = {t.credentials["client_id"]: t for t in tenants if t.erp == "procountor"}
        self.tokens: dict[str, tuple[str, float]] = {}  # token -> (client_id, expires at)
        self.recent: dict[str, deque[float]] = {}
        self.detail_calls = 0
        self._companies: dict[str, ProcountorCompany] = {}

    def _company(self, client_id: str) -> ProcountorCompany:
        if client_id not in self._companies:
            tenant = self.tenants[client_id]
            self._companies[client_id] = ProcountorCompany(tenant, books_for(tenant.profile, as_of()))
        return self._companies[client_id]

    def for_tenant(self, key: str) -> ProcountorCompany:
        return self._company(next(c for c, t in self.tenants.items() if t.profile.key == key))

    async def admin_change(self, request: Request) -> Response:
        """POST /_sim/change {"company", "fiscal_year", "share", "version"}: see ProcountorCompany.change."""
        body = await request.json()
        try:
            company = self.for_tenant(body["company"])
            return JSONResponse(company.change(str(body["fiscal_year"]), float(body["share"]), body["version"]))
        except (KeyError, StopIteration, ValueError) as exc:
            return self.error(400, f"cannot change: {exc!r}")

    def error(self, status: int, message: str, field: str | None = None) -> JSONResponse:
        return JSONResponse({"errors": [{"status": status, "field": field, "message": message}]}, status_code=status)

    async def token(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8")).items()}
        tenant = self.tenants.get(str(form.get("client_id", "")))
        if form.get("grant_type") != "client_credentials":
            return self.error(400, "unsupported grant_type", "grant_type")
        if (
            tenant is None
            or form.get("client_secret") != tenant.credentials["client_secret"]
            or form.get("api_key") != tenant.credentials["api_key"]
        ):
            return self.error(401, "invalid client credentials or API key")
        token = f"{tenant.profile.key}.{secrets.token_urlsafe(24)}"  # the prefix lets bulk mode tell tenants apart
        self.tokens[token] = (tenant.credentials["client_id"], time.monotonic() + self.token_lifetime)
        return JSONResponse({"access_token": token, "token_type": "bearer", "expires_in": int(self.token_lifetime)})

    def company(self, request: Request) -> ProcountorCompany | Response:
        header = request.headers.get("authorization", "")
        token = header[7:] if header.lower().startswith("bearer ") else ""
        entry = self.tokens.get(token)
        if entry is None or entry[1] <= time.monotonic():
            return self.error(401, "access token is invalid or expired")
        client_id = entry[0]
        window = self.recent.setdefault(client_id, deque())
        now = time.monotonic()
        while window and window[0] <= now - 1:
            window.popleft()
        if len(window) >= self.rate_per_second:
            return JSONResponse(
                {"errors": [{"status": 429, "message": "rate limit exceeded"}]},
                status_code=429,
                headers={"Retry-After": "1"},
            )
        window.append(now)
        return self._company(client_id)

    async def dispatch(self, request: Request) -> Response:
        fault = await FAULTS.apply("procountor")
        if marker(fault) == "token_expired":
            header = request.headers.get("authorization", "")
            self.tokens.pop(header[7:], None)  # the token dies mid-run
        elif fault is not None and marker(fault) is None:
            return fault
        company = self.company(request)
        if isinstance(company, Response):
            return company
        parts = [p for p in request.path_params["path"].split("/") if p]
        try:
            match parts:
                case ["fiscalyears"]:
                    return JSONResponse(self.fiscal_years(company))
                case ["coa"]:
                    return JSONResponse(
                        {
                            "ledgerAccounts": [
                                {
                                    "ledgerAccountCode": a.number,
                                    "name": a.name,
                                    "active": True,
                                    "translations": [{"languageCode": "EN", "translation": a.name_en}],
                                }
                                for a in company.books.accounts
                            ]
                        }
                    )
                case ["dimensions"]:
                    return JSONResponse(
                        [
                            {
                                "id": company.dimension_ids[type_id][0],
                                "name": name,
                                "items": [
                                    {
                                        "id": company.dimension_ids[type_id][1][code],
                                        "codeName": code,
                                        "description": item_name,
                                    }
                                    for code, item_name in items
                                ],
                            }
                            for type_id, (name, items) in company.books.dimension_types.items()
                        ]
                    )
                case ["ledgerreceipts"]:
                    return self.search(company, request)
                case ["ledgerreceipts", receipt_id]:
                    receipt = company.by_id.get(int(receipt_id))
                    if receipt is None:
                        return self.error(404, f"ledger receipt {receipt_id} not found")
                    self.detail_calls += 1
                    return JSONResponse(receipt.detail(company.dimension_ids))
                case ["reports", "ledgeraccounts"] if request.method == "POST":
                    return JSONResponse(self.balances(company, await request.json()))
        except ValueError as exc:
            return self.error(400, str(exc))
        return self.error(404, "not found")

    def fiscal_years(self, company: ProcountorCompany) -> dict:
        years = []
        for fy in sorted(company.books.fiscal_years, key=lambda f: f.start, reverse=True):
            years.append(
                {
                    "id": fy.id,
                    "startDate": fy.start.isoformat(),
                    "endDate": fy.end.isoformat(),
                    "modified": f"{fy.end.isoformat()}T00:00:00",
                    "isOpen": not fy.locked,
                    "trackingPeriods": [],
                }
            )
        return {"fiscalYears": years}

    def search(self, company: ProcountorCompany, request: Request) -> Response:
        q = request.query_params
        page, size = int(q.get("page", "0")), int(q.get("size", "50"))
        if size < 1 or size > MAX_SIZE:
            return self.error(400, f"size must be between 1 and {MAX_SIZE}", "size")
        start = date.fromisoformat(q["startDate"]) if q.get("startDate") else date.min
        end = date.fromisoformat(q["endDate"]) if q.get("endDate") else date.max
        version_start = datetime.fromisoformat(q["versionStartDate"]) if q.get("versionStartDate") else None
        types = set(q["types"].split(",")) if q.get("types") else None
        status = set(q["status"].split(",")) if q.get("status") else None
        matches = [
            r
            for r in company.receipts
            if start <= r.voucher.date <= end
            and (version_start is None or datetime.fromisoformat(r.version) >= version_start)
            and (types is None or r.type in types)
            and (status is None or r.status in status)
        ]
        matches.sort(key=lambda r: r.id)
        chunk = matches[page * size : (page + 1) * size]
        return JSONResponse(
            {
                "results": [r.basic() for r in chunk],
                "meta": {"pageNumber": page, "pageSize": size, "resultCount": len(chunk), "totalCount": len(matches)},
            }
        )

    def balances(self, company: ProcountorCompany, body: dict) -> dict:
        on = date.fromisoformat(body["endDate"])
        rows = []
        for a in company.books.accounts:
            rows.append({"ledgerAccountCode": a.number, "name": a.name, "value": float(company.balance(a.number, on))})
        return {"periods": [{"startDate": body.get("startDate"), "endDate": on.isoformat(), "rows": rows}]}

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/oauth/token", self.token, methods=["POST"]),
                Route("/{path:path}", self.dispatch, methods=["GET", "POST"]),
            ]
        )
