"""Fennoa API simulator: HTTP Basic auth, the {status, data, errors} envelope, paged ledger.

Speaks the contract of docs/erp-apis.md section 3: `accounting_api/get/{accounts, periods,
locking_periods, ledger/<start>/<end>, opening_balances/<period>, account_balance/<acc>/<date>,
vatcodes}` and `dimension_api` types and items; 429 above the concurrent-request limit.

`locking_periods` is not in Fennoa's published reference (only other projects' code uses it): a
server built with `locking_periods=False` has no such resource (404, as for any unknown path), and
the tamper kind `no_locking_periods` removes it for one company. The tamper kind `numeric_text`
sends a company's text fields as JSON numbers: each ledger row's `series` as the series' numeric
id (the ids the ledger's `series:` filter takes), the first row's `description` and the first
account's `name` as numbers.
"""

from __future__ import annotations

import base64
import binascii
import math
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cached_property

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from simulator.books import Books, FiscalYear
from simulator.catalogue import Tenant, as_of, books_for
from simulator.faults import FAULTS, marker, tampered

MAX_LIMIT = 500
VAT_CODES = (
    {"id": 1, "type": "ALV_MYYNTI", "name": "Kotimaan myynti, yleinen verokanta"},
    {"id": 2, "type": "ALV_OSTO", "name": "Kotimaan ostot, yleinen verokanta"},
)
_VAT_ID = {row["type"]: row["id"] for row in VAT_CODES}
# Statement series ids (Fennoa's accounting API reference: the ledger's `series:` filter takes them).
SERIES_IDS = {"GL": 1, "IN": 2, "PU": 3, "PJ": 5, "CA": 16}


def _num(value: Decimal) -> float:
    # Two-decimal values round-trip exactly through the shortest float repr.
    return float(value)


@dataclass
class FennoaCompany:
    tenant: Tenant
    books: Books

    @cached_property
    def ledger_rows(self) -> list[dict]:
        """Posted rows of valid, non-opening vouchers with running account balances per year."""
        rows: list[dict] = []
        running: dict[tuple[int, str], Decimal] = {}
        for fy in self.books.fiscal_years:
            opening = self.books.opening_voucher(fy)
            for line in opening.lines if opening else ():
                running[(fy.id, line.account)] = running.get((fy.id, line.account), Decimal(0)) + line.amount
        for voucher in self.books.valid_vouchers:
            if voucher.is_opening:
                continue
            fy = self.books.fiscal_year_of(voucher.date)
            for line in voucher.lines:
                key = (fy.id, line.account)
                before = running.get(key, Decimal(0))
                running[key] = before + line.amount
                rows.append(
                    {
                        "statement_id": voucher.id,
                        "account": line.account,
                        "date": voucher.date.isoformat(),
                        "debit": _num(line.amount if line.amount > 0 else Decimal(0)),
                        "credit": _num(-line.amount if line.amount < 0 else Decimal(0)),
                        "description": f"{voucher.description} / {line.description}",
                        "series": voucher.series,
                        "number": voucher.number,
                        "opening": _num(before),
                        "closing": _num(running[key]),
                        "dimensions": dict(line.dimensions) or [],
                        "links": [],
                    }
                )
        return rows

    @cached_property
    def row_dates(self) -> list[str]:
        return [row["date"] for row in self.ledger_rows]

    def period(self, period_id: int) -> FiscalYear | None:
        return next((fy for fy in self.books.fiscal_years if fy.id == period_id), None)


class FennoaSimulator:
    def __init__(self, tenants: list[Tenant], max_active: int = 100, locking_periods: bool = True):
        self.max_active = max_active
        self.locking_periods = locking_periods  # False: a server without accounting_api/get/locking_periods
        self.active: dict[str, int] = {}
        self.companies = {t.credentials["username"]: t for t in tenants if t.erp == "fennoa"}
        self._loaded: dict[str, FennoaCompany] = {}

    def company(self, username: str) -> FennoaCompany:
        if username not in self._loaded:
            tenant = self.companies[username]
            self._loaded[username] = FennoaCompany(tenant, books_for(tenant.profile, as_of()))
        return self._loaded[username]

    @staticmethod
    def envelope(data, status: str = "OK", **extra) -> dict:
        return {"status": status, "data": data, "errors": [], **extra}

    @staticmethod
    def error(status_code: int, message: str) -> JSONResponse:
        return JSONResponse({"status": "ERROR", "data": None, "errors": [message]}, status_code=status_code)

    def authenticate(self, request: Request) -> FennoaCompany | None:
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("basic "):
            return None
        try:
            username, _, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        tenant = self.companies.get(username)
        if tenant is None or tenant.credentials["api_key"] != password:
            return None
        return self.company(username)

    async def dispatch(self, request: Request) -> Response:
        client = request.client.host if request.client else "?"
        self.active[client] = self.active.get(client, 0) + 1
        try:
            if self.active[client] > self.max_active:
                return self.error(429, "Too Many Requests")
            fault = await FAULTS.apply("fennoa")
            if fault is not None and marker(fault) is None:  # Fennoa has no tokens to expire
                return fault
            company = self.authenticate(request)
            if company is None:
                return self.error(401, "API key or company code is invalid")
            return self.route(company, request)
        finally:
            self.active[client] -= 1

    def route(self, company: FennoaCompany, request: Request) -> Response:
        parts = [p for p in request.path_params["path"].split("/") if p]
        try:
            match parts:
                case ["accounting_api", "get", "accounts"]:
                    accounts = self.accounts(company)
                    if accounts and tampered("fennoa", company.tenant.profile.key, "numeric_text"):
                        accounts[0] = dict(accounts[0], name=int(accounts[0]["code"]))
                    return JSONResponse(self.envelope(accounts))
                case ["accounting_api", "get", "periods"]:
                    return JSONResponse(
                        self.envelope(
                            [
                                {"id": fy.id, "start_date": fy.start.isoformat(), "end_date": fy.end.isoformat()}
                                for fy in company.books.fiscal_years
                                if not tampered("fennoa", company.tenant.profile.key, "no_periods")
                            ]
                        )
                    )
                case ["accounting_api", "get", "locking_periods"] if self.locking_periods and not tampered(
                    "fennoa", company.tenant.profile.key, "no_locking_periods"
                ):
                    return JSONResponse(self.envelope(self.locks(company)))
                case ["accounting_api", "get", "vatcodes"]:
                    return JSONResponse(self.envelope(list(VAT_CODES)))
                case ["accounting_api", "get", "ledger", start, end]:
                    return self.ledger(company, date.fromisoformat(start), date.fromisoformat(end), request)
                case ["accounting_api", "get", "opening_balances", period_id]:
                    return self.opening_balances(company, int(period_id))
                case ["accounting_api", "get", "account_balance", account, on]:
                    return self.account_balance(company, account, date.fromisoformat(on))
                case ["dimension_api", "get", "types"]:
                    return JSONResponse(
                        self.envelope(
                            [
                                {"id": int(type_id), "name_fi": name, "name_en": name, "name_sv": name}
                                for type_id, (name, _) in company.books.dimension_types.items()
                            ]
                        )
                    )
                case ["dimension_api"]:
                    return JSONResponse(self.envelope(self.dimension_items(company, request)))
        except ValueError as exc:
            return self.error(400, f"Invalid parameter: {exc}")
        return self.error(404, "Not found")

    def accounts(self, company: FennoaCompany) -> list[dict]:
        return [
            {
                "code": a.number,
                "name": a.name,
                "vatcode_id": _VAT_ID.get(a.vat_code),
                "vatcode_type": a.vat_code or None,
                "vatcode": a.vat_code or None,
            }
            for a in company.books.accounts
        ]

    def locks(self, company: FennoaCompany) -> list[dict]:
        locked = [fy.end for fy in company.books.fiscal_years if fy.locked]
        if not locked:
            return []
        return [{"code": "accounting_locked", "value": max(locked).isoformat()}]

    def ledger(self, company: FennoaCompany, start: date, end: date, request: Request) -> Response:
        page = int(request.query_params.get("page", "1"))
        limit = int(request.query_params.get("limit", "100"))
        if limit < 1 or limit > MAX_LIMIT:
            return self.error(400, f"limit must be between 1 and {MAX_LIMIT}")
        if page < 1:
            return self.error(400, "page must be 1 or greater")
        lo = bisect_left(company.row_dates, start.isoformat())
        hi = bisect_right(company.row_dates, end.isoformat())
        total = hi - lo
        first = lo + (page - 1) * limit
        data = company.ledger_rows[first : min(first + limit, hi)] if first < hi else []
        if data and page == 1 and tampered("fennoa", company.tenant.profile.key, "unbalanced_voucher"):
            data = [dict(data[0], debit=data[0]["debit"] + 1.0), *data[1:]]  # one voucher off by 1.00
        if data and page == 1 and tampered("fennoa", company.tenant.profile.key, "unknown_account"):
            data = [dict(data[0], account="9999"), *data[1:]]  # a line on an account missing from the chart
        if data and tampered("fennoa", company.tenant.profile.key, "numeric_text"):
            data = [dict(row, series=SERIES_IDS[row["series"]]) for row in data]
            if page == 1:
                data[0] = dict(data[0], description=data[0]["number"])
        pagination = {"page": page, "limit": limit, "pagesCount": max(1, math.ceil(total / limit))}
        return JSONResponse(self.envelope(data, status="ok", pagination=pagination))

    def opening_balances(self, company: FennoaCompany, period_id: int) -> Response:
        fy = company.period(period_id)
        if fy is None:
            return self.error(404, f"Accounting period {period_id} not found")
        voucher = company.books.opening_voucher(fy)
        if fy != company.books.fiscal_years[0] and tampered(
            "fennoa", company.tenant.profile.key, "no_opening_balances"
        ):
            voucher = None  # books never closed: later years have no opening balances
        rows = []
        for line in voucher.lines if voucher else ():
            debit = line.amount if line.amount > 0 else Decimal(0)
            credit = -line.amount if line.amount < 0 else Decimal(0)
            rows.append(
                {
                    "account_code": line.account,
                    "total_sum": _num(line.amount),
                    "debit_sum": _num(debit),
                    "credit_sum": _num(credit),
                }
            )
        return JSONResponse(self.envelope(rows))

    def account_balance(self, company: FennoaCompany, account: str, on: date) -> Response:
        try:
            debit, credit = company.books.balance(account, on)
        except ValueError as exc:
            return self.error(400, str(exc))
        if account < "3" and tampered("fennoa", company.tenant.profile.key, "no_opening_balances"):
            debit, credit = self.unclosed_balance(company, account, on)
        return JSONResponse(
            {
                "status": "OK",
                "account": account,
                "date": on.isoformat(),
                "dimensions": [],
                "sum_debit": _num(debit),
                "sum_credit": _num(credit),
                "data": None,
                "errors": [],
            }
        )

    @staticmethod
    def unclosed_balance(company: FennoaCompany, account: str, on: date) -> tuple[Decimal, Decimal]:
        """Balance-sheet balance of books never closed: everything since the first opening."""
        first = company.books.fiscal_years[0]
        debit = credit = Decimal(0)
        for v in company.books.valid_vouchers:
            if v.date > on or (v.is_opening and v.date != first.start):
                continue
            for line in v.lines:
                if line.account == account:
                    debit += max(line.amount, Decimal(0))
                    credit += max(-line.amount, Decimal(0))
        return debit, credit

    def dimension_items(self, company: FennoaCompany, request: Request) -> list[dict]:
        wanted = request.query_params.get("dimension_type_id")
        items = []
        next_id = 1
        for type_id, (_, values) in company.books.dimension_types.items():
            for code, name in values:
                if wanted is None or wanted == type_id:
                    items.append(
                        {
                            "id": next_id,
                            "dimension_type_id": int(type_id),
                            "code": code,
                            "name_fi": name,
                            "name_en": name,
                            "name_sv": name,
                            "description": "",
                            "is_active": 1,
                            "active_after": None,
                        }
                    )
                next_id += 1
        return items

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/{path:path}", self.dispatch, methods=["GET"])])
