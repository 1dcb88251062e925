"""Netvisor API simulator: HMAC-signed headers, XML with Netvisor's quirks, one request at a time.

Follows docs/erp-apis.md section 1: the MAC is verified exactly as the algorithm header names it
(HMACSHA256 over ten fields keyed with CustomerKey&PartnerKey, or plain SHA256 over nine), a reused
TransactionId is REQUEST_NOT_UNIQUE, failures are HTTP 200 with two Status elements unless
UseHTTPResponseStatusCodes is 1, amounts use decimal commas, timestamps are Finnish d.m.yyyy,
element casing differs per resource, and an overlapping request for a customer is rejected.
Resource shapes follow Netvisor's resource pages (support.netvisor.fi): dimensionlist.nv gives each
item `Name` (code and label combined), `Code` and `Label`; accountbalance.nv names each account by
`Number` and `Name` (since 19.2.2026). The older shapes stay available as options
(`dimension_codes=False`: items by `Name` alone; `balance_numbers=False`: accounts by their
`Netvisorkey` attribute alone), so clients are tested against both.
This module shares no code with connectors/netvisor.py on purpose.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime
from decimal import Decimal

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from simulator.books import Books
from simulator.catalogue import Tenant, as_of, books_for
from simulator.faults import FAULTS, marker

H = "x-netvisor-authentication-"
VOUCHER_CLASSES = {
    "IN": ("3", "MY", "Myyntilasku"),
    "PU": ("4", "OL", "Ostolasku"),
    "PJ": ("5", "PT", "Pankkitosite"),
    "GL": ("1", "MU", "Muistiotosite"),
    "OB": ("9", "TA", "Tilinavaus"),
}


def _comma(value: Decimal) -> str:
    return f"{value:.2f}".replace(".", ",")


def _percent(value: Decimal) -> str:
    return f"{value.normalize():f}".replace(".", ",")


def _fi_date(d: date) -> str:
    return f"{d.day}.{d.month}.{d.year}"


def _timestamp() -> str:
    now = datetime.now(UTC)
    return f"{now.day}.{now.month}.{now.year} {now.hour}:{now.minute:02d}:{now.second:02d}"


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = text
    return element


def _document(root: ET.Element) -> bytes:
    return b'<?xml version="1.0" encoding="utf-8" standalone="yes"?>\n' + ET.tostring(root, encoding="utf-8")


class NetvisorSimulator:
    def __init__(
        self, tenants: list[Tenant], latency: float = 0.0, *, dimension_codes: bool = True, balance_numbers: bool = True
    ):
        self.latency = latency
        self.dimension_codes = dimension_codes  # dimensionlist.nv items with Code and Label (current docs)
        self.balance_numbers = balance_numbers  # accountbalance.nv accounts with Number and Name (since 19.2.2026)
        self.tenants = {t.credentials["customer_id"]: t for t in tenants if t.erp == "netvisor"}
        self.transaction_ids: set[tuple[str, str]] = set()
        self.active: set[str] = set()
        self.requests = 0
        self.macs_seen: list[str] = []  # lets tests look for leaked MACs

    # -- responses -------------------------------------------------------------------------------

    def ok(self, *children: ET.Element) -> Response:
        root = ET.Element("Root")
        status = _sub(root, "ResponseStatus")
        _sub(status, "Status", "OK")
        _sub(status, "TimeStamp", _timestamp())
        root.extend(children)
        return Response(_document(root), media_type="text/xml")

    def failed(self, request: Request, category: str, text: str, http_status: int) -> Response:
        root = ET.Element("Root")
        status = _sub(root, "ResponseStatus")
        _sub(status, "Status", "FAILED")
        _sub(status, "Status", f"{category} :: {text}")
        _sub(status, "TimeStamp", _timestamp())
        use_codes = request.headers.get(H + "usehttpresponsestatuscodes") == "1"
        return Response(_document(root), media_type="text/xml", status_code=http_status if use_codes else 200)

    # -- authentication --------------------------------------------------------------------------

    def expected_mac(self, request: Request, tenant: Tenant, algorithm: str) -> tuple[str, str] | None:
        h = request.headers
        creds = tenant.credentials
        fields = [
            str(request.url),
            h.get(H + "sender", ""),
            h.get(H + "customerid", ""),
            h.get(H + "timestamp", ""),
            h.get("x-netvisor-interface-language", ""),
            h.get("x-netvisor-organisation-id", ""),
            h.get(H + "transactionid", ""),
        ]
        if algorithm == "HMACSHA256":
            message = "&".join([*fields, h.get(H + "timestampunix", ""), creds["customer_key"], creds["partner_key"]])
            key = f"{creds['customer_key']}&{creds['partner_key']}"
            digest = hmac.new(key.encode("latin-1"), message.encode("latin-1"), hashlib.sha256).hexdigest()
        elif algorithm == "SHA256":
            message = "&".join([*fields, creds["customer_key"], creds["partner_key"]])
            digest = hashlib.sha256(message.encode("latin-1")).hexdigest()
        else:
            return None
        masked = message.replace(creds["customer_key"], "YOUR_PRIVATE_KEY_HERE").replace(
            creds["partner_key"], "YOUR_PRIVATE_KEY_HERE"
        )
        return digest, masked

    def authenticate(self, request: Request) -> tuple[Tenant | None, Response | None]:
        h = request.headers
        tenant = self.tenants.get(h.get(H + "customerid", ""))
        if tenant is None or h.get(H + "partnerid") != tenant.credentials["partner_id"]:
            return None, self.failed(request, "AUTHENTICATION_FAILED", "Unknown customer or partner", 401)
        if h.get("x-netvisor-organisation-id") != tenant.profile.business_id:
            return None, self.failed(request, "AUTHENTICATION_FAILED", "Organisation not found", 401)
        algorithm = h.get(H + "machashcalculationalgorithm", "")
        try:
            expected = self.expected_mac(request, tenant, algorithm)
        except UnicodeEncodeError:
            expected = None
        if expected is None:
            return None, self.failed(request, "AUTHENTICATION_FAILED", f"Unsupported MAC algorithm {algorithm!r}", 401)
        digest, masked = expected
        self.macs_seen.append(h.get(H + "mac", ""))
        if not hmac.compare_digest(digest, h.get(H + "mac", "").lower()):
            return None, self.failed(
                request,
                "AUTHENTICATION_FAILED",
                f"Integration keys are not valid. Use the string {masked} for the MAC :: {digest}",
                401,
            )
        key = (tenant.credentials["partner_id"], h.get(H + "transactionid", ""))
        if not key[1] or key in self.transaction_ids:
            return None, self.failed(request, "REQUEST_NOT_UNIQUE", "Transaction identifier has already been used", 400)
        self.transaction_ids.add(key)
        return tenant, None

    async def dispatch(self, request: Request) -> Response:
        self.requests += 1
        fault = await FAULTS.apply("netvisor")
        if marker(fault) == "not_unique":
            return self.failed(request, "REQUEST_NOT_UNIQUE", "Transaction identifier has already been used", 400)
        if fault is not None and marker(fault) is None:
            return fault
        tenant, failure = self.authenticate(request)
        if failure is not None:
            return failure
        customer = tenant.credentials["customer_id"]
        if customer in self.active:
            return self.failed(request, "TECHNICAL_ERROR", "Another request for this customer is in progress", 503)
        self.active.add(customer)
        try:
            if self.latency:
                await asyncio.sleep(self.latency)
            books = books_for(tenant.profile, as_of())
            return self.route(request, books)
        finally:
            self.active.discard(customer)

    def route(self, request: Request, books: Books) -> Response:
        resource = request.path_params["resource"]
        q = request.query_params
        try:
            if resource == "accountingledger.nv":
                if not (q.get("startdate") and q.get("enddate")):
                    return self.failed(request, "INVALID_DATA", "startdate and enddate are required", 400)
                return self.ok(
                    self.ledger(
                        books,
                        date.fromisoformat(q["startdate"]),
                        date.fromisoformat(q["enddate"]),
                        q.get("voucherstatus", "2"),
                    )
                )
            if resource == "accountlist.nv":
                return self.ok(self.accounts(books))
            if resource == "accountingperiodlist.nv":
                return self.ok(self.periods(books))
            if resource == "vouchertypelist.nv":
                return self.ok(self.voucher_types())
            if resource == "dimensionlist.nv":
                return self.ok(self.dimensions(books))
            if resource == "accountbalance.nv":
                if not q.get("balancedates"):
                    return self.failed(request, "INVALID_DATA", "balancedates is required", 400)
                dates = [date.fromisoformat(d) for d in q["balancedates"].split(",")]
                return self.ok(self.balances(books, dates))
        except ValueError as exc:
            return self.failed(request, "INVALID_DATA", str(exc), 400)
        return self.failed(request, "SERVICE_ACCESS_ERROR", f"Unknown resource {resource}", 404)

    # -- resources -------------------------------------------------------------------------------

    def ledger(self, books: Books, start: date, end: date, voucherstatus: str) -> ET.Element:
        wanted = {"1": {"valid", "invalidated", "deleted"}, "2": {"valid"}, "3": {"invalidated", "deleted"}}[
            voucherstatus
        ]
        vouchers = ET.Element("Vouchers")
        line_key = 0
        for v in books.vouchers:
            if not (start <= v.date <= end) or v.status not in wanted:
                continue
            key, abbreviation, name = VOUCHER_CLASSES[v.series]
            element = _sub(vouchers, "Voucher", status=v.status)
            _sub(element, "NetvisorKey", str(v.id))
            _sub(element, "VoucherDate", _fi_date(v.date))
            _sub(element, "VoucherNumber", str(v.number))
            _sub(element, "VoucherDescription", v.description)
            _sub(element, "VoucherClass", f"{abbreviation} {name}", netvisorKey=key)
            _sub(element, "LinkedSourceNetvisorKey", "", type="")
            _sub(element, "VoucherNetvisorUri", f"https://netvisor.invalid/voucher?id={v.id}")
            lines = [(line, v.status) for line in v.lines] + [(line, "invalidated") for line in v.superseded_lines]
            for line, status in lines:
                line_key += 1
                vl = _sub(element, "VoucherLine", status=status)
                _sub(vl, "NetvisorKey", str(v.id * 100 + line_key % 100))
                _sub(vl, "LineSum", _comma(line.amount))
                _sub(vl, "Description", line.description)
                _sub(vl, "AccountNumber", line.account)
                _sub(vl, "VatPercent", _percent(line.vat_percent))
                _sub(
                    vl,
                    "VatCode",
                    "KOMY" if line.vat_code == "ALV_MYYNTI" else "KOOS" if line.vat_code == "ALV_OSTO" else "-",
                )
                for type_id, item in line.dimensions:
                    dim = _sub(vl, "Dimension")
                    _sub(dim, "DimensionName", books.dimension_types[type_id][0])
                    _sub(dim, "DimensionItem", item)
                if line.dimensions and "2" not in {t for t, _ in line.dimensions} and line_key % 3 == 0:
                    # Netvisor also lists a header the line has no item of, with a blank item
                    dim = _sub(vl, "Dimension")
                    _sub(dim, "DimensionName", books.dimension_types["2"][0])
                    _sub(dim, "DimensionItem", " ")
            line_key = 0
        return vouchers

    def accounts(self, books: Books) -> ET.Element:
        account_list = ET.Element("AccountList")
        accounts = _sub(account_list, "Accounts")
        for i, a in enumerate(books.accounts, start=1):
            element = _sub(accounts, "Account")
            _sub(element, "NetvisorKey", str(200 + i))
            _sub(element, "Number", a.number)
            _sub(element, "Name", a.name)
            _sub(element, "ForeignName", a.name_en, **{"iso-3166": "en"})
            _sub(element, "AccountType", "account")
            _sub(element, "FatherNetvisorKey", a.number[0])
            _sub(element, "IsActive", "1")
            _sub(element, "IsCumulative", "0")
            _sub(element, "Sort", str(i * 10))
            _sub(element, "EndSort", str(i * 10))
            _sub(element, "IsNaturalNegative", "1" if a.number[0] in "23" else "0")
        return account_list

    def periods(self, books: Books) -> ET.Element:
        period_list = ET.Element("AccountingPeriodList")
        locks = _sub(period_list, "PeriodLockInformation")
        locked = [fy.end for fy in books.fiscal_years if fy.locked]
        lock_date = max(locked) if locked else books.fiscal_years[0].start.replace(day=1)
        for tag in ("AccountingPeriodLockDate", "VatPeriodLockDate", "PurchaseLockDate"):
            _sub(locks, tag, lock_date.isoformat(), format="ansi")
        for fy in books.fiscal_years:
            period = _sub(period_list, "Period")
            _sub(period, "NetvisorKey", str(fy.id))
            _sub(period, "Name", f"{fy.start.year}-{fy.end.year}" if fy.start.year != fy.end.year else str(fy.end.year))
            _sub(period, "BeginDate", fy.start.isoformat(), format="ansi")
            _sub(period, "EndDate", fy.end.isoformat(), format="ansi")
        return period_list

    def voucher_types(self) -> ET.Element:
        type_list = ET.Element("VoucherTypeList")
        types = _sub(type_list, "VoucherTypes")
        for key, abbreviation, name in VOUCHER_CLASSES.values():
            element = _sub(types, "VoucherType")
            _sub(element, "NetvisorKey", key)
            _sub(element, "Abbreviation", abbreviation)
            _sub(element, "Name", name)
        return type_list

    def dimensions(self, books: Books) -> ET.Element:
        names = ET.Element("DimensionNameList")
        item_key = 0
        for type_id, (name, items) in books.dimension_types.items():
            element = _sub(names, "DimensionName")
            _sub(element, "Netvisorkey", type_id)  # lower-case k: this resource's casing
            _sub(element, "Name", name)
            _sub(element, "IsHidden", "False")
            _sub(element, "LinkType", "0")
            details = _sub(element, "DimensionDetails")
            for code, item_name in items:
                item_key += 1
                detail = _sub(details, "DimensionDetail")
                _sub(detail, "Netvisorkey", str(item_key))
                if self.dimension_codes:  # Name is code and label combined when the item has a code
                    _sub(detail, "Name", f"{code} {item_name}")
                    _sub(detail, "Code", code)
                    _sub(detail, "Label", item_name)
                else:  # the older shape: the item's name only (here the code, as voucher lines give it)
                    _sub(detail, "Name", code)
                _sub(detail, "IsHidden", "False")
                _sub(detail, "Level", "1")
                _sub(detail, "Sort", str(item_key))
                _sub(detail, "EndSort", str(item_key))
                _sub(detail, "FatherID", "0")
        return names

    def balances(self, books: Books, dates: list[date]) -> ET.Element:
        balances = ET.Element("AccountBalances")
        for i, a in enumerate(books.accounts, start=1):
            element = _sub(balances, "Account", Netvisorkey=str(200 + i))  # accountlist.nv's NetvisorKey
            if self.balance_numbers:
                _sub(element, "Number", a.number)
                _sub(element, "Name", a.name)
                _sub(element, "ForeignName", a.name_en)
            for on in dates:
                debit, credit = books.balance(a.number, on)
                entry = _sub(element, "AccountBalance", Date=on.isoformat())
                _sub(entry, "Debet", _comma(debit))
                _sub(entry, "Kredit", _comma(credit))
                _sub(entry, "Balance", _comma(debit - credit))
        return balances

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/{resource}", self.dispatch, methods=["GET"])])
