"""Procountor API simulator: M2M OAuth tokens that expire, 20 requests/s, list + detail receipts.

Follows docs/erp-apis.md section 2. Receipt transactions carry *net* accountingValues with a
vatPercent (VAT rows are implied, as in Procountor's own examples); an edited receipt lives on as
an INVALIDATED receipt while the new version gets a new id; purchase and sales orders and
unfinished receipts are present but are not official accounting.
"""

from __future__ import annotations

import math
import secrets
import time
from collections import deque
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
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
MAX_IDS = 200  # ids per GET /ledgerreceipts/{ids} (more is a 400)
TYPES = {
    "IN": "SALES_INVOICE",
    "PU": "PURCHASE_INVOICE",
    "PJ": "BANK_STATEMENT_AS_RECEIPT",
    "GL": "JOURNAL",
    "OB": "RECEIPT_FOR_OPENING_ACCOUNTS",
}
STATUSES = frozenset(
    [
        "APPROVED",
        "DELETED",
        "EMPTY",
        "INVALIDATED",
        "INVOICED",
        "MARKED_PAID",
        "NOT_SENT",
        "OVERRIDDEN",
        "PAID",
        "PARTLY_PAID",
        "PAYMENT_DENIED",
        "PAYMENT_QUEUED",
        "PAYMENT_SENT_TO_BANK",
        "PAYMENT_TRANSACTION_REMOVED",
        "RECEIVED",
        "SENT",
        "STARTED",
        "UNFINISHED",
        "UNSAVED",
        "VERIFIED",
    ]
)
# What LedgerAccountsReportRequest.receiptStatus accepts.
REPORT_STATUSES = frozenset(
    [
        "APPROVED",
        "SENT",
        "NOT_SENT",
        "PAYMENT_SENT_TO_BANK",
        "PAID",
        "PARTLY_PAID",
        "MARKED_PAID",
        "PAYMENT_QUEUED",
        "PAYMENT_DENIED",
        "UNFINISHED",
        "VERIFIED",
        "RECEIVED",
    ]
)
# What LedgerAccountsReportRequest.options.receiptType accepts (no TRACKING_PERIOD_OPENING_RECEIPT).
REPORT_TYPES = frozenset(
    {"SALES_INVOICE", "PURCHASE_INVOICE", "TRAVEL_INVOICE", "BILL_OF_CHARGES", "JOURNAL", "SALARY", "VAT_FORM",
     "EMPLOYER_CONTRIBUTION", "PERIODIC_TAX_RETURN", "VAT_SUMMARY", "SALES_ORDER", "PURCHASE_ORDER",
     "REFERENCE_PAYMENT", "BANK_STATEMENT_AS_RECEIPT", "RECEIPT_FOR_OPENING_ACCOUNTS"}
)  # fmt: skip
# A valid voucher of the books is a receipt in one of these statuses (by type, picked by voucher id).
BOOKED_STATUSES = {
    "SALES_INVOICE": ("PAID", "SENT", "PAID", "PARTLY_PAID", "MARKED_PAID", "NOT_SENT", "PAID"),
    "PURCHASE_INVOICE": ("PAID", "RECEIVED", "VERIFIED", "APPROVED", "PAYMENT_QUEUED", "PAYMENT_SENT_TO_BANK",
                         "PAYMENT_DENIED"),
}  # fmt: skip
# Receipts that are not in the books: copies of some purchase invoices, one status after another.
BOOKED = REPORT_STATUSES - {"UNFINISHED"}  # the statuses of the valid vouchers above, and others official
UNBOOKED_COPIES = ("DELETED", "EMPTY", "OVERRIDDEN", "STARTED", "UNSAVED", "UNFINISHED", "PAYMENT_TRANSACTION_REMOVED")
# VAT statuses as GET /vats/default numbers them (Procountor's support pages): 1 domestic,
# 5 EU community sales of goods, 12 no VAT handling.
VAT_DOMESTIC, VAT_EU_GOODS_SALES, VAT_NONE = 1, 5, 12


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
            "created": f"{self.voucher.date.isoformat()}T09:00:00",
            "version": self.version,
        }

    @property
    def vat_override(self) -> bool:
        """Some sales receipts say 'no VAT handling' in the header and 'domestic' on their VAT rows."""
        return self.type == "SALES_INVOICE" and self.voucher.id % 7 == 0

    def detail(self, dimension_ids: dict[str, tuple[int, dict[str, int]]]) -> dict:
        vat_codes = {line.vat_code for line in self.lines if line.vat_percent}
        # required on every receipt, VAT or not
        vat_type = (
            "SALES"
            if "ALV_MYYNTI" in vat_codes
            else "PURCHASE"
            if vat_codes or self.type == "PURCHASE_INVOICE"
            else "SALES"
        )
        header_status = VAT_DOMESTIC if vat_codes and not self.vat_override else VAT_NONE
        transactions = []
        posted = [] if self.status == "EMPTY" else [line for line in self.lines if not line.implied_vat]
        for i, line in enumerate(posted, start=1):
            dims = []
            for type_id, code, amount in line.dimension_amounts():
                dim_id, items = dimension_ids[type_id]
                dims.append({"dimensionId": dim_id, "itemId": items[code], "value": float(amount)})
            # at most one REVERSING_ENTRY, the first row (without VAT); every other row is an ENTRY
            reversing = i == 1 and not line.vat_percent and not line.vat_code
            t: dict = {
                "id": i,
                "transactionType": "REVERSING_ENTRY" if reversing else "ENTRY",
                "account": line.account,
                "accountingValue": float(line.amount),
                "vatPercent": float(line.vat_percent),
                "description": line.description,
                "dimensionItemValues": dims,
            }
            if line.vat_percent:
                t["vatType"] = vat_type
                if vat_type == "PURCHASE":
                    t["vatDeductionPercent"] = float(line.vat_deduction)
                if header_status != VAT_DOMESTIC:
                    t["vatStatus"] = VAT_DOMESTIC  # the row's status overrides the header's
            elif line.vat_code == "EU_MYYNTI":
                t["vatStatus"] = VAT_EU_GOODS_SALES
            transactions.append(t)
        out = {k: v for k, v in self.basic().items() if k != "created"}  # created: only in the basic info
        return {
            **out,
            "vatType": vat_type,
            "vatStatus": header_status,
            "vatProcessing": "FINLAND",
            "transactions": transactions,
            "attachments": [],
        }


class ProcountorCompany:
    def __init__(self, tenant: Tenant, books: Books):
        self.tenant, self.books = tenant, books
        self.searches: dict[tuple, list[Receipt]] = {}  # GET /ledgerreceipts matches per query

    @cached_property
    def receipts(self) -> list[Receipt]:
        out: list[Receipt] = []
        next_id = 800_000 + 10_000 * (self.tenant.profile.seed % 50)
        copies = 0
        for v in self.books.vouchers:
            kind = TYPES[v.series]
            version = f"{v.date.isoformat()}T12:00:00"
            if v.superseded_lines:  # an edit: the old receipt is invalidated, the new one has a new id
                out.append(Receipt(next_id, kind, "INVALIDATED", v, v.superseded_lines, version))
                next_id += 1
                version = f"{v.date.isoformat()}T15:30:00"
            booked = BOOKED_STATUSES.get(kind, ("APPROVED",))
            status = {"valid": booked[v.id % len(booked)], "invalidated": "INVALIDATED", "deleted": "DELETED"}[v.status]
            out.append(Receipt(next_id, kind, status, v, v.lines, version))
            next_id += 1
            if v.series == "IN" and v.id % 23 == 0:  # orders: present, not official
                out.append(Receipt(next_id, "SALES_ORDER", ("APPROVED", "INVOICED")[v.id % 2], v, v.lines, version))
                next_id += 1
            if v.series == "PU" and v.id % 5 == 0:
                status = UNBOOKED_COPIES[copies % len(UNBOOKED_COPIES)]
                out.append(Receipt(next_id, "PURCHASE_INVOICE", status, v, v.lines, version))
                copies += 1
                next_id += 1
        return out

    @cached_property
    def by_id(self) -> dict[int, Receipt]:
        return {r.id: r for r in self.receipts}

    def change(self, fiscal_year: str, share: float, version: str) -> dict:
        """Change about `share` of a fiscal year's lines as a bookkeeper would, all at `version`:
        every other picked receipt is edited (the old one INVALIDATED, a corrected copy with a new
        id and reversed amounts), the others get a new duplicate receipt. For the nightly-refresh
        benchmark; balance reports are computed from the receipts, so they follow the change."""
        fy = next(f for f in self.books.fiscal_years if f.key == fiscal_year)
        official = set(TYPES.values()) - {"RECEIPT_FOR_OPENING_ACCOUNTS"}
        candidates = [
            r
            for r in self.receipts
            if r.status in BOOKED and r.type in official and fy.start <= r.voucher.date <= fy.end
        ]
        target = share * sum(len(r.lines) for r in candidates)
        next_id = max(self.by_id) + 1
        edited = added = lines = 0
        for n, receipt in enumerate(candidates[:: max(1, round(1 / share))]):
            if lines >= target:
                break
            if n % 2 == 0:
                receipt.status, receipt.version = "INVALIDATED", version
                new_lines = [replace(line, amount=-line.amount, splits=()) for line in receipt.lines]
                edited += 1
            else:
                new_lines = list(receipt.lines)
                added += 1
            self.receipts.append(Receipt(next_id, receipt.type, "APPROVED", receipt.voucher, new_lines, version))
            next_id += 1
            lines += len(receipt.lines)
        self.__dict__.pop("by_id", None)
        self.searches.clear()
        return {"edited": edited, "added": added, "lines": lines, "fiscal_year_lines": int(target / share)}

    def balances(
        self, start: date, end: date, statuses: frozenset[str], types: frozenset[str] | None
    ) -> dict[str, Decimal]:
        """Per account, the lines of receipts dated start..end of these statuses (and types; None: all)."""
        totals = {a.number: Decimal(0) for a in self.books.accounts}
        for r in self.receipts:
            if r.status in statuses and (types is None or r.type in types) and start <= r.voucher.date <= end:
                for line in r.lines:
                    totals[line.account] += line.amount
        return totals

    @cached_property
    def dimension_ids(self) -> dict[str, tuple[int, dict[str, int]]]:
        out = {}
        for n, (type_id, (_, items)) in enumerate(self.books.dimension_types.items()):
            dim_id = 279_000 + n
            out[type_id] = (dim_id, {code: 777_000 + 10 * n + i for i, (code, _) in enumerate(items)})
        return out


class ProcountorSimulator:
    """Procountor for every Procountor tenant: one API client may serve many companies.

    A tenant's `client_id`/`client_secret` identify the API client (the integration), its `api_key` the
    company (a user of that company made the key for that client). The 20 requests per second are
    counted per API client, over all the companies it serves.
    """

    def __init__(self, tenants: list[Tenant], token_lifetime: float = 3600.0, rate_per_second: int = 20):
        self.token_lifetime = token_lifetime
        self.rate_per_second = rate_per_second
        self.by_api_key = {t.credentials["api_key"]: t for t in tenants if t.erp == "procountor"}
        self.tokens: dict[str, tuple[str, str, float]] = {}  # token -> (client_id, api_key, expires at)
        self.recent: dict[str, deque[float]] = {}  # client_id -> request times in the last second
        self.detail_calls = 0  # GET /ledgerreceipts/{ids} answered
        self.detail_receipts = 0  # receipts in those answers
        self._companies: dict[str, ProcountorCompany] = {}

    def _company(self, api_key: str) -> ProcountorCompany:
        if api_key not in self._companies:
            tenant = self.by_api_key[api_key]
            self._companies[api_key] = ProcountorCompany(tenant, books_for(tenant.profile, as_of()))
        return self._companies[api_key]

    def for_tenant(self, key: str) -> ProcountorCompany:
        return self._company(next(k for k, t in self.by_api_key.items() if t.profile.key == key))

    async def admin_change(self, request: Request) -> Response:
        """POST /_sim/change {"company", "fiscal_year", "share", "version"}: see ProcountorCompany.change."""
        body = await request.json()
        try:
            company = self.for_tenant(body["company"])
            return JSONResponse(company.change(str(body["fiscal_year"]), float(body["share"]), body["version"]))
        except (KeyError, StopIteration, ValueError) as exc:
            return self.error(400, f"cannot change: {exc!r}")

    def error(self, status: int, message: str, field: str | None = None, headers: dict | None = None) -> JSONResponse:
        """An ErrorResponse: the request id, when, and the messages."""
        text = f"{field}: {message}" if field else message
        body = {
            "requestId": secrets.token_hex(8),
            "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
            "code": str(status),
            "message": {"errors": [{"status": status, "message": text}]},
        }
        return JSONResponse(body, status_code=status, headers=headers)

    async def token(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8")).items()}
        if form.get("grant_type") != "client_credentials":
            return self.error(400, "unsupported grant_type", "grant_type")
        tenant = self.by_api_key.get(str(form.get("api_key", "")))
        if (
            tenant is None
            or form.get("client_id") != tenant.credentials["client_id"]
            or form.get("client_secret") != tenant.credentials["client_secret"]
        ):
            return self.error(401, "invalid client credentials or API key")
        token = f"{tenant.profile.key}.{secrets.token_urlsafe(24)}"  # the prefix lets bulk mode tell tenants apart
        self.tokens[token] = (
            tenant.credentials["client_id"],
            tenant.credentials["api_key"],
            time.monotonic() + self.token_lifetime,
        )
        return JSONResponse(
            {"access_token": token, "token_type": "bearer", "expires_in": math.ceil(self.token_lifetime)}
        )

    def company(self, request: Request) -> ProcountorCompany | Response:
        header = request.headers.get("authorization", "")
        token = header[7:] if header.lower().startswith("bearer ") else ""
        entry = self.tokens.get(token)
        if entry is None or entry[2] <= time.monotonic():
            return self.error(401, "access token is invalid or expired")
        client_id, api_key, _ = entry
        window = self.recent.setdefault(client_id, deque())
        now = time.monotonic()
        while window and window[0] <= now - 1:
            window.popleft()
        if len(window) >= self.rate_per_second:
            return self.error(429, "rate limit exceeded", headers={"Retry-After": "1"})
        window.append(now)
        return self._company(api_key)

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
                case ["ledgerreceipts", ids]:
                    return self.receipts(company, ids)
                case ["reports", "ledgeraccounts"] if request.method == "POST":
                    return self.ledger_accounts(company, await request.json())
        except ValueError as exc:
            return self.error(400, str(exc))
        return self.error(404, "not found")

    def receipts(self, company: ProcountorCompany, ids: str) -> Response:
        """GET /ledgerreceipts/{ids}: one id gives the receipt; several (at most 200, comma-separated)
        give a list ordered by id without duplicates, unknown ids left out; 404 only if none is known."""
        asked = ids.split(",")
        if len(asked) > MAX_IDS:
            return self.error(400, f"at most {MAX_IDS} ids per request", "id")
        try:
            wanted = sorted({int(i) for i in asked})
        except ValueError:
            return self.error(400, f"not a list of receipt ids: {ids[:40]}", "id")
        found = [company.by_id[i] for i in wanted if i in company.by_id]
        if not found:
            return self.error(404, f"ledger receipt {ids[:40]} not found")
        self.detail_calls += 1
        self.detail_receipts += len(found)
        details = [r.detail(company.dimension_ids) for r in found]
        return JSONResponse(details if len(asked) > 1 else details[0])

    def fiscal_years(self, company: ProcountorCompany) -> dict:
        years = []
        for fy in sorted(company.books.fiscal_years, key=lambda f: f.start, reverse=True):
            tracking, n, month = [], 0, fy.start
            while month <= fy.end:
                n += 1
                month_end = date(month.year + (month.month == 12), month.month % 12 + 1, 1) - timedelta(days=1)
                status = "CLOSED" if fy.locked else "OPEN" if month_end >= company.books.as_of else "PENDING"
                tracking.append(
                    {
                        "id": fy.id * 100 + n,
                        "startDate": month.isoformat(),
                        "endDate": month_end.isoformat(),
                        "status": status,
                        "modified": f"{min(month_end, company.books.as_of).isoformat()}T00:00:00",
                    }
                )
                month = month_end + timedelta(days=1)
            years.append(
                {
                    "id": fy.id,
                    "startDate": fy.start.isoformat(),
                    "endDate": fy.end.isoformat(),
                    "modified": f"{fy.end.isoformat()}T00:00:00",
                    "isOpen": not fy.locked,
                    "trackingPeriods": tracking,
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
        if status is not None and not status <= STATUSES:
            return self.error(400, f"unknown status {sorted(status - STATUSES)}", "status")
        key = (start, end, version_start, frozenset(types or ()), frozenset(status or ()), q.get("orderById", "DESC"))
        matches = company.searches.get(key)
        if matches is None:  # kept per query (a year at L is 2 000 pages): cleared when the books change
            matches = [
                r
                for r in company.receipts
                if start <= r.voucher.date <= end
                and (version_start is None or datetime.fromisoformat(r.version) >= version_start)
                and (types is None or r.type in types)
                and (status is None or r.status in status)
            ]
            matches.sort(key=lambda r: r.id, reverse=key[-1] == "DESC")
            company.searches[key] = matches
        chunk = matches[page * size : (page + 1) * size]
        return JSONResponse(
            {
                "results": [r.basic() for r in chunk],
                "meta": {"pageNumber": page, "pageSize": size, "resultCount": len(chunk), "totalCount": len(matches)},
            }
        )

    def ledger_accounts(self, company: ProcountorCompany, body: dict) -> Response:
        """POST /reports/ledgeraccounts: per account, the receipts of the period in the asked statuses.

        Without `receiptStatus` the report holds every status it can (unfinished receipts too): the
        published default "depends on company rights", so a client must ask for what it compares."""
        try:
            start, end = date.fromisoformat(body["startDate"]), date.fromisoformat(body["endDate"])
        except (KeyError, TypeError, ValueError):
            return self.error(400, "startDate and endDate are required (YYYY-MM-DD)", "startDate")
        asked = body.get("receiptStatus")
        if asked is not None and (not isinstance(asked, list) or not set(asked) <= REPORT_STATUSES):
            return self.error(400, f"receiptStatus must be a list of {sorted(REPORT_STATUSES)}", "receiptStatus")
        types = (body.get("options") or {}).get("receiptType")
        if types is not None and (not isinstance(types, list) or not set(types) <= REPORT_TYPES):
            return self.error(400, f"options.receiptType must be a list of {sorted(REPORT_TYPES)}", "receiptType")
        totals = company.balances(
            start, end, frozenset(asked) if asked else REPORT_STATUSES, frozenset(types) if types else None
        )
        names = {a.number: a.name for a in company.books.accounts}
        rows = [{"name": f"{number} {names[number]}", "value": float(value)} for number, value in totals.items()]
        return JSONResponse(
            {
                "reportParameters": {"startDate": start.isoformat(), "endDate": end.isoformat()},
                "reportData": {"periods": [{"startDate": start.isoformat(), "endDate": end.isoformat(), "rows": rows}]},
            }
        )

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/oauth/token", self.token, methods=["POST"]),
                Route("/{path:path}", self.dispatch, methods=["GET", "POST"]),
            ]
        )
