"""Procountor simulator vs Procountor's published contract: every answer of every operation we use is validated.

Schemas: tests/simulator/procountor_contract.py (OpenAPI 25.12.0 plus dev.procountor.com's batch rule). Rules the
spec states only in prose (descriptions) are asserted here, each naming the description it comes from.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.simulator.procountor_contract import validator

ROOT = Path(__file__).resolve().parents[2]
MAX_IDS = 200  # batch endpoints: up to 200 ids per request
PAGE_SIZE = 100  # below the 200 maximum so that each fiscal year takes several pages
PACE = 18  # requests per rolling second; Procountor (and the simulator) allow 20


def procountor_credentials() -> dict[str, str]:
    """client_id, client_secret, api_key of the demo company with erp: procountor (env names in companies.yaml)."""
    config = yaml.safe_load((ROOT / "companies.yaml").read_text())
    company = next(c for c in config["companies"] if c["erp"] == "procountor")
    return {key: os.environ[env] for key, env in company["credentials"].items()}


class Procountor:
    """Plain httpx against the simulator, paced under the 20 requests/s limit; a 429 is kept and retried."""

    def __init__(self, base_url: str):
        self.http = httpx.Client(base_url=base_url, timeout=120)
        self.token = ""
        self.token_response: httpx.Response | None = None
        self.sent: deque[float] = deque()
        self.throttled: list[httpx.Response] = []

    def request(self, method: str, path: str, *, token: str | None = None, **kwargs: Any) -> httpx.Response:
        bearer = self.token if token is None else token
        headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        for _ in range(10):
            self._pace()
            response = self.http.request(method, path, headers=headers, **kwargs)
            if response.status_code != 429:
                return response
            self.throttled.append(response)
            time.sleep(float(response.headers.get("Retry-After", "1")))
        return response

    def _pace(self) -> None:
        while len(self.sent) >= PACE:
            wait = self.sent[0] + 1.05 - time.monotonic()
            if wait <= 0:
                self.sent.popleft()
            else:
                time.sleep(wait)
        self.sent.append(time.monotonic())

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)


def body(response: httpx.Response) -> Any:
    """The JSON body with numbers as written (Decimal), so scale is visible; the media type must be JSON."""
    assert response.headers.get("content-type", "").startswith("application/json"), (
        f"{response.request.url}: content-type {response.headers.get('content-type')!r}, the spec declares application/json"
    )
    return json.loads(response.content, parse_float=Decimal)


def violations(component: str, instances: Iterable[tuple[str, Any]]) -> Counter[str]:
    """Schema violations of each (label, instance), grouped by path (indices as *) and message."""
    found: Counter[str] = Counter()
    check = validator(component)
    for _label, instance in instances:
        for error in check.iter_errors(instance):
            message = error.message
            if error.context:  # oneOf: say why the alternatives did not fit (a wrong type says least)
                why = [e for e in error.context if e.validator != "type"] or list(error.context)
                message = "matches no oneOf alternative: " + "; ".join(f"{e.json_path}: {e.message}" for e in why[:3])
            found[re.sub(r"\[\d+\]", "[*]", f"{error.json_path}: {message}")] += 1
    return found


def assert_valid(component: str, instances: Iterable[tuple[str, Any]]) -> None:
    instances = list(instances)
    assert instances, f"no {component} to validate"
    found = violations(component, instances)
    assert not found, f"{component}: {sum(found.values())} violations in {len(instances)} answers:\n" + "\n".join(
        f"  {n} x {message}" for message, n in found.most_common(25)
    )


def expect(response: httpx.Response, status: int) -> Any:
    assert response.status_code == status, (
        f"{response.request.method} {response.request.url.path}?{response.request.url.query.decode()[:120]} "
        f"answered {response.status_code}, expected {status}: {response.text[:300]}"
    )
    return body(response)


def ids_path(ids: Iterable[int]) -> str:
    return "ledgerreceipts/" + ",".join(str(i) for i in ids)


# -- fixtures: each operation asked once per module, every answer kept --------------------------------------


@pytest.fixture(scope="module")
def api(simulator_url) -> Iterable[Procountor]:
    client = Procountor(f"{simulator_url}/procountor/api")
    creds = procountor_credentials()
    client.token_response = client.http.post(
        "oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
            "api_key": creds["api_key"],
        },
    )
    client.token = client.token_response.json().get("access_token", "")
    assert client.token, f"no access token: {client.token_response.text[:300]}"
    yield client
    client.http.close()


@pytest.fixture(scope="module")
def fiscal_years(api) -> dict:
    return expect(api.get("fiscalyears"), 200)


@pytest.fixture(scope="module")
def periods(fiscal_years) -> list[tuple[str, str]]:
    """(startDate, endDate) of every fiscal year, oldest first."""
    return sorted((fy["startDate"], fy["endDate"]) for fy in fiscal_years.get("fiscalYears", []))


@pytest.fixture(scope="module")
def coa(api) -> dict:
    return expect(api.get("coa"), 200)


@pytest.fixture(scope="module")
def dimensions(api) -> list:
    return expect(api.get("dimensions"), 200)


def page_through(api: Procountor, params: dict[str, Any]) -> list[tuple[dict, httpx.Response]]:
    """Every page of one search, (params with page, answer); stops at an error, an empty page or totalCount."""
    pages, seen = [], 0
    for page in range(100):
        asked = {**params, "page": page}
        response = api.get("ledgerreceipts", params=asked)
        pages.append((asked, response))
        if response.status_code != 200:
            break
        data = body(response)
        results = data.get("results") or []
        seen += len(results)
        if not results or seen >= int(data.get("meta", {}).get("totalCount", seen)):
            break
    return pages


@pytest.fixture(scope="module")
def search_pages(api, periods) -> dict[tuple[str, str], list[tuple[dict, httpx.Response]]]:
    """Each fiscal year's receipts, page by page, oldest id first (as the connector asks)."""
    return {
        (start, end): page_through(api, {"startDate": start, "endDate": end, "size": PAGE_SIZE, "orderById": "ASC"})
        for start, end in periods
    }


@pytest.fixture(scope="module")
def listed(search_pages) -> dict[int, dict]:
    """LedgerReceiptBasicInfo by id, from every search page."""
    out = {}
    for pages in search_pages.values():
        for _, response in pages:
            if response.status_code == 200:
                for basic in body(response).get("results") or []:
                    out[basic["id"]] = basic
    assert out, "the search found no receipts"
    return out


@pytest.fixture(scope="module")
def descending_page(api, periods) -> tuple[dict, httpx.Response]:
    start, end = periods[-1]
    params = {"startDate": start, "endDate": end, "size": PAGE_SIZE, "orderById": "DESC", "page": 0}
    return params, api.get("ledgerreceipts", params=params)


@pytest.fixture(scope="module")
def changed_pages(api, periods, listed) -> tuple[str, list[tuple[dict, httpx.Response]]]:
    """An incremental read: the latest fiscal year with versionStartDate at the median version seen."""
    versions = sorted({b["version"] for b in listed.values() if isinstance(b.get("version"), str)})
    since = versions[len(versions) // 2]
    start, end = periods[-1]
    params = {"startDate": start, "endDate": end, "size": PAGE_SIZE, "orderById": "ASC", "versionStartDate": since}
    return since, page_through(api, params)


@pytest.fixture(scope="module")
def unknown_ids(listed) -> list[int]:
    top = max(listed)
    return [top + 1_000_001, top + 1_000_002]


@pytest.fixture(scope="module")
def batches(api, listed) -> list[tuple[list[int], httpx.Response]]:
    """Every listed receipt, read 200 at a time; each chunk asked newest id first, so ordering is the server's."""
    ids = sorted(listed)
    out = []
    for start in range(0, len(ids), MAX_IDS):
        chunk = ids[start : start + MAX_IDS][::-1]
        out.append((chunk, api.get(ids_path(chunk))))
    return out


@pytest.fixture(scope="module")
def singles(api, listed) -> list[tuple[int, httpx.Response]]:
    """One receipt of each (type, status) seen, read by a single id."""
    firsts: dict[tuple, int] = {}
    for receipt_id, basic in sorted(listed.items()):
        firsts.setdefault((basic.get("type"), basic.get("status")), receipt_id)
    return [(receipt_id, api.get(ids_path([receipt_id]))) for receipt_id in firsts.values()]


@pytest.fixture(scope="module")
def details(batches, singles) -> dict[int, dict]:
    """Every LedgerReceipt the detail reads returned (all of them once batches work; the single reads anyway)."""
    out: dict[int, dict] = {}
    for _, response in batches:
        if response.status_code == 200 and isinstance(data := body(response), list):
            out.update({r["id"]: r for r in data if isinstance(r, dict) and "id" in r})
    for _, response in singles:
        if response.status_code == 200 and isinstance(data := body(response), dict) and "id" in data:
            out[data["id"]] = data
    assert out, "no ledger receipt detail was read"
    return out


@pytest.fixture(scope="module")
def reports(api, periods) -> list[tuple[dict, httpx.Response]]:
    """POST /reports/ledgeraccounts per fiscal year as the connector asks, plus one with statuses and options."""
    bodies = [{"startDate": start, "endDate": end} for start, end in periods]
    start, end = periods[-1]
    bodies.append(
        {
            "startDate": start,
            "endDate": end,
            "receiptStatus": ["APPROVED", "PAID", "SENT"],
            "options": {"receiptType": ["JOURNAL", "SALES_INVOICE", "PURCHASE_INVOICE", "BANK_STATEMENT_AS_RECEIPT"]},
        }
    )
    assert_valid("LedgerAccountsReportRequest", [("request", b) for b in bodies])  # what we send is in contract too
    return [(b, api.request("POST", "reports/ledgeraccounts", json=b)) for b in bodies]


# -- POST /oauth/token -------------------------------------------------------------------------------------


def test_token_answer_has_an_access_token_type_and_lifetime(api):
    data = expect(api.token_response, 200)
    assert_valid("OAuthTokenResponse", [("token", data)])
    assert data["token_type"].lower() == "bearer"  # the spec's only security scheme is http bearer
    assert data["expires_in"] > 0


# -- GET /fiscalyears, /coa, /dimensions -------------------------------------------------------------------


def test_fiscal_years_match_the_contract(fiscal_years):
    assert_valid("FiscalYears", [("fiscalyears", fiscal_years)])


def test_fiscal_years_newest_first_and_tracking_periods_in_order(fiscal_years):
    # /fiscalyears: "ordered by their start date, from newest to oldest. Tracking periods, if exist, are in
    # chronological order."
    years = fiscal_years["fiscalYears"]
    assert years
    starts = [fy["startDate"] for fy in years]
    assert starts == sorted(starts, reverse=True)
    for fy in years:
        tracking = [p.get("startDate") for p in fy.get("trackingPeriods") or []]
        assert tracking == sorted(tracking), f"fiscal year {fy.get('id')}: tracking periods out of order"


def test_chart_of_accounts_matches_the_contract(coa):
    assert_valid("LedgerAccounts", [("coa", coa)])
    # LedgerAccount.translations: "If there is no translations available for given account, api response body
    # will not contain translations list at all."
    empty = [a.get("ledgerAccountCode") for a in coa["ledgerAccounts"] if a.get("translations") == []]
    assert not empty, f"accounts with an empty translations list instead of none: {empty[:10]}"


def test_dimensions_match_the_contract(dimensions):
    assert_valid("DimensionList", [("dimensions", dimensions)])
    # DimensionItem.status: absent when the item is active, "P" when inactive.
    odd = [(d.get("id"), i.get("id"), i["status"]) for d in dimensions for i in d.get("items") or [] if "status" in i]
    assert all(status == "P" for *_, status in odd), f"item status other than absent or 'P': {odd[:10]}"


# -- GET /ledgerreceipts -----------------------------------------------------------------------------------


def all_search_answers(search_pages, descending_page, changed_pages) -> list[tuple[dict, httpx.Response]]:
    return [page for pages in search_pages.values() for page in pages] + [descending_page] + changed_pages[1]


def test_every_search_page_matches_the_contract(search_pages, descending_page, changed_pages):
    answers = all_search_answers(search_pages, descending_page, changed_pages)
    assert len(answers) >= 5  # several pages
    assert_valid("LedgerReceiptSearchResult", [(str(params), expect(r, 200)) for params, r in answers])


def test_search_pages_cover_the_fiscal_year_once_with_consistent_meta(search_pages):
    for (start, end), pages in search_pages.items():
        seen: list[int] = []
        for params, response in pages:
            data = expect(response, 200)
            results, meta = data.get("results") or [], data.get("meta") or {}
            assert meta.get("pageNumber") == params["page"] and meta.get("pageSize") == params["size"], (params, meta)
            assert len(results) <= params["size"]
            # startDate/endDate: "Start/End date of the search (ledger receipt date)"
            assert all(start <= r["receiptDate"] <= end for r in results), (start, end)
            seen += [r["id"] for r in results]
        assert len(seen) == len(set(seen)), f"{start}..{end}: a receipt on two pages"
        assert len(seen) == body(pages[-1][1])["meta"]["totalCount"], f"{start}..{end}: pages do not add up"


def test_search_orders_by_id_as_asked(search_pages, descending_page):
    for pages in search_pages.values():
        ids = [r["id"] for _, response in pages for r in body(response).get("results") or []]
        assert ids == sorted(ids), "orderById=ASC"
    _, response = descending_page
    ids = [r["id"] for r in expect(response, 200)["results"]]
    assert ids and ids == sorted(ids, reverse=True), f"orderById=DESC answered {ids[:5]}..."


def test_version_start_date_selects_receipts_changed_since(changed_pages, listed, periods):
    # versionStartDate: "Start date of the search (ledger updated date)"
    since, pages = changed_pages
    start, end = periods[-1]
    got = {r["id"] for _, response in pages for r in expect(response, 200).get("results") or []}
    want = {
        i
        for i, b in listed.items()
        if start <= b["receiptDate"] <= end and datetime.fromisoformat(b["version"]) >= datetime.fromisoformat(since)
    }
    assert want and got == want


def test_search_size_over_200_is_a_400_error_response(api, periods):
    start, end = periods[-1]
    data = expect(api.get("ledgerreceipts", params={"startDate": start, "endDate": end, "size": 201}), 400)
    assert_valid("ErrorResponse", [("size=201", data)])  # parameter size: maximum 200


# -- GET /ledgerreceipts/{receiptIds} ----------------------------------------------------------------------


def test_every_receipt_read_in_batches_of_200_matches_the_contract(batches, listed):
    assert len(batches) >= 2 and any(len(ids) == MAX_IDS for ids, _ in batches)
    problems, found = [], Counter()
    for ids, response in batches:
        if response.status_code != 200:
            problems.append(f"{len(ids)} ids from {min(ids)}: {response.status_code} {response.text[:200]}")
            continue
        data = body(response)
        found += violations("LedgerReceiptList", [("batch", data)])
        if isinstance(data, list):
            got = [r.get("id") for r in data if isinstance(r, dict)]
            if got != sorted(ids):
                problems.append(f"batch from {min(ids)}: ids {got[:3]}... are not the asked ids in id order")
    problems += [f"{n} x {message}" for message, n in found.most_common(25)]
    assert not problems, f"reading {len(listed)} receipts in {len(batches)} batches:\n" + "\n".join(problems[:40])


def test_batch_orders_by_id_drops_duplicates_and_unknown_ids(api, listed, unknown_ids):
    a, b, c = sorted(listed)[10:13]
    data = expect(api.get(ids_path([c, unknown_ids[0], a, b, a, c])), 200)
    assert_valid("LedgerReceiptList", [("batch", data)])
    assert [r["id"] for r in data] == [a, b, c]


def test_batch_with_one_known_id_is_still_a_list(api, listed, unknown_ids):
    known = sorted(listed)[20]
    for ids in ([known, unknown_ids[0]], [known, known]):
        data = expect(api.get(ids_path(ids)), 200)
        assert_valid("LedgerReceiptList", [(str(ids), data)])
        assert [r["id"] for r in data] == [known], ids


def test_one_id_answers_one_ledger_receipt(singles):
    answers = [(str(receipt_id), expect(response, 200)) for receipt_id, response in singles]
    assert_valid("LedgerReceipt", answers)
    assert all(data["id"] == int(receipt_id) for receipt_id, data in answers)


def test_unknown_ids_are_a_404_error_response(api, unknown_ids):
    answers = [(str(ids), expect(api.get(ids_path(ids)), 404)) for ids in (unknown_ids[:1], unknown_ids)]
    assert_valid("ErrorResponse", answers)


def test_more_than_200_ids_is_a_400_error_response(api, listed):
    ids = sorted(listed)[: MAX_IDS + 1]
    assert len(ids) == MAX_IDS + 1
    assert_valid("ErrorResponse", [("201 ids", expect(api.get(ids_path(ids)), 400))])


def test_detail_agrees_with_the_search_result(details, listed):
    fields = ("type", "status", "name", "receiptDate", "receiptNumber", "invoiceNumber", "version")
    differ = [
        (i, f, listed[i].get(f), r.get(f))
        for i, r in details.items()
        for f in fields
        if f in listed[i] and f in r and listed[i][f] != r[f]
    ]
    assert not differ, f"detail vs search result (id, field, search, detail): {differ[:10]}"


# -- prose rules on transactions (descriptions in the spec's Transaction / DimensionItemValue) --------------


def decimals(value: Any) -> int:
    """Decimal places as written in the JSON (a non-number is the schema's business)."""
    return max(0, -int(Decimal(value).as_tuple().exponent)) if isinstance(value, int | Decimal) else 0


def rule_scale_2(receipt: dict, ctx: dict) -> Iterable[str]:
    # accountingValue: "This value is net. It will be automatically rounded up to scale 2."
    # DimensionItemValue.value: "Dimension item value with maximum two decimal places."
    for t in receipt.get("transactions") or []:
        if decimals(t.get("accountingValue")) > 2:
            yield f"accountingValue {t.get('accountingValue')} has more than 2 decimals"
        for d in t.get("dimensionItemValues") or []:
            if decimals(d.get("value")) > 2:
                yield f"dimension value {d.get('value')} has more than 2 decimals"


def rule_dimension_values_sum_to_the_transaction(receipt: dict, ctx: dict) -> Iterable[str]:
    # DimensionItemValue.value: "Use absolute values instead of percentages. The sum of dimension item values
    # on a dimension must equal the accounting value of the parent transaction."
    for t in receipt.get("transactions") or []:
        sums: dict[Any, Decimal] = defaultdict(Decimal)
        for d in t.get("dimensionItemValues") or []:
            sums[d.get("dimensionId")] += Decimal(d.get("value", 0))
        for dim, total in sums.items():
            if total != Decimal(t.get("accountingValue", 0)):
                yield f"dimension {dim}: values sum to {total}, accountingValue {t.get('accountingValue')}"


def rule_dimension_pairs_unique_and_known(receipt: dict, ctx: dict) -> Iterable[str]:
    # dimensionItemValues: "Provided dimension pairs (dimension id - item id) must be unique within the list";
    # dimensionId/itemId: "Must exist in the current environment ... see the GET /dimensions endpoint."
    for t in receipt.get("transactions") or []:
        pairs = [(d.get("dimensionId"), d.get("itemId")) for d in t.get("dimensionItemValues") or []]
        if len(pairs) != len(set(pairs)):
            yield f"transaction {t.get('id')}: repeated dimension pairs {pairs}"
        for pair in pairs:
            if pair not in ctx["dimension_pairs"]:
                yield f"dimension pair {pair} not in GET /dimensions"


def rule_account_in_the_chart(receipt: dict, ctx: dict) -> Iterable[str]:
    # account: "Must be valid for the current Procountor environment. Use GET /coa to obtain the chart of accounts."
    for t in receipt.get("transactions") or []:
        if t.get("account") not in ctx["accounts"]:
            yield f"account {t.get('account')!r} not in GET /coa"


def rule_reversing_and_reconciliation_entries(receipt: dict, ctx: dict) -> Iterable[str]:
    # transactionType: "For both REVERSING_ENTRY and RECONCILIATION_ENTRY transactions, vatStatus cannot be defined
    # and vatPercent must be 0. Additionally, a ledger can have maximum of one REVERSING_ENTRY and maximum of one
    # RECONCILIATION_ENTRY transaction."
    special = [t for t in receipt.get("transactions") or [] if t.get("transactionType") != "ENTRY"]
    for t in special:
        if "vatStatus" in t:
            yield f"{t['transactionType']} with vatStatus {t['vatStatus']!r}"
        if t.get("vatPercent", 0) != 0:
            yield f"{t['transactionType']} with vatPercent {t['vatPercent']}"
    for kind, n in Counter(t.get("transactionType") for t in special).items():
        if n > 1:
            yield f"{n} {kind} transactions on one receipt"


RULES: list[Callable[[dict, dict], Iterable[str]]] = [
    rule_scale_2,
    rule_dimension_values_sum_to_the_transaction,
    rule_dimension_pairs_unique_and_known,
    rule_account_in_the_chart,
    rule_reversing_and_reconciliation_entries,
]


@pytest.mark.parametrize("rule", RULES, ids=[r.__name__.removeprefix("rule_") for r in RULES])
def test_transactions_follow_the_rules_in_the_spec_text(rule, details, coa, dimensions):
    ctx = {
        "accounts": {a.get("ledgerAccountCode") for a in coa.get("ledgerAccounts", [])},
        "dimension_pairs": {(d.get("id"), i.get("id")) for d in dimensions for i in d.get("items") or []},
    }
    broken: Counter[str] = Counter()
    receipts_broken = set()
    for receipt_id, receipt in details.items():
        for problem in rule(receipt, ctx):
            broken[re.sub(r"-?\d+(\.\d+)?", "#", problem)] += 1
            receipts_broken.add(receipt_id)
    assert not broken, f"{len(receipts_broken)} of {len(details)} receipts:\n" + "\n".join(
        f"  {n} x {p}" for p, n in broken.most_common(15)
    )


# -- POST /reports/ledgeraccounts --------------------------------------------------------------------------


def test_ledger_accounts_report_for_every_fiscal_year_matches_the_contract(reports, periods):
    assert len(reports) == len(periods) + 1
    assert_valid("LedgerAccountsReportResponse", [(str(asked), expect(r, 200)) for asked, r in reports])


def test_ledger_accounts_report_answers_the_period_asked(reports):
    for asked, response in reports:
        data = expect(response, 200)
        # reportParameters: "Report parameters that were used to generate the report."
        if "reportParameters" in data:
            assert data["reportParameters"].get("endDate") == asked["endDate"], data["reportParameters"]
        report_periods = (data.get("reportData") or {}).get("periods") or []
        assert report_periods, f"{asked}: no reportData.periods"
        assert report_periods[-1].get("endDate") == asked["endDate"]
        assert all(date.fromisoformat(p["endDate"]) <= date.fromisoformat(asked["endDate"]) for p in report_periods)


# -- errors ------------------------------------------------------------------------------------------------


def test_a_bad_token_is_a_401_error_response(api, listed):
    some_id = min(listed)
    answers = [
        (path, expect(api.get(path, token="not-a-valid-token"), 401))
        for path in ("fiscalyears", "ledgerreceipts", ids_path([some_id]))
    ]
    answers.append(("no Authorization header", expect(api.get("coa", token=""), 401)))
    assert_valid("ErrorResponse", answers)


def test_a_throttled_answer_is_an_error_response_and_the_limit_is_per_api_client():
    """Two companies served by one API client share its budget: the client's second request in the
    same second is a 429 on a simulator allowing one request a second, whichever company asks."""
    from simulator.catalogue import Tenant, demo_tenants
    from simulator.server import serve_in_thread

    eira = next(t for t in demo_tenants() if t.erp == "procountor")
    twin = Tenant("procountor", eira.profile, {**eira.credentials, "api_key": "second-company-key"})
    with serve_in_thread(tenants=[eira, twin], procountor_rate=1) as url:
        with httpx.Client(base_url=f"{url}/procountor/api") as http:
            tokens = []
            for tenant in (eira, twin):
                answer = http.post("oauth/token", data={"grant_type": "client_credentials", **tenant.credentials})
                tokens.append(expect(answer, 200)["access_token"])
            first = http.get("coa", headers={"Authorization": f"Bearer {tokens[0]}"})
            second = http.get("coa", headers={"Authorization": f"Bearer {tokens[1]}"})
    assert first.status_code == 200
    assert_valid("ErrorResponse", [("429", expect(second, 429))])
    assert second.headers.get("Retry-After")


# -- the transcription itself (no simulator) ---------------------------------------------------------------


def test_the_schemas_accept_a_spec_shaped_answer_and_refuse_inventions():
    receipt = {
        "id": 1,
        "type": "JOURNAL",
        "status": "APPROVED",
        "name": "Palkat 1/2025",
        "receiptDate": "2025-01-31",
        "vatType": "PURCHASE",
        "vatStatus": 12,
        "invoiceId": None,
        "receiptNumber": 7,
        "version": "2025-02-01T08:15:00",
        "transactions": [
            {"transactionType": "ENTRY", "account": "7000", "accountingValue": Decimal("100.00"), "vatPercent": 0},
            {
                "transactionType": "ENTRY",
                "account": "1910",
                "accountingValue": Decimal("-100.00"),
                "dimensionItemValues": [{"dimensionId": 2, "itemId": 3, "value": Decimal("-100.00")}],
            },
        ],
    }
    assert not violations("LedgerReceipt", [("ok", receipt)])
    assert violations("LedgerReceipt", [("invented", {**receipt, "created": "2025-01-31T09:00:00"})])
    assert violations("LedgerReceipt", [("bad version", {**receipt, "version": "31.1.2025"})])
    row = {"name": "1910 Pankkitili", "value": Decimal("12.50")}
    report = {"reportData": {"periods": [{"startDate": "2025-01-01", "endDate": "2025-01-31", "rows": [row]}]}}
    assert not violations("LedgerAccountsReportResponse", [("ok", report)])
    bad_rows = [{**row, "ledgerAccountCode": "1910"}]
    assert violations("LedgerAccountsReportResponse", [("code", {"reportData": {"periods": [{"rows": bad_rows}]}})])
    error = {"requestId": "r", "timestamp": "2025-01-31T09:00:00Z", "message": {"errors": [{"status": 404}]}}
    assert not violations("ErrorResponse", [("ok", error)])
    assert not violations("ErrorResponse", [("text", {**error, "code": "NOT_FOUND", "message": "not found"})])
    assert violations("ErrorResponse", [("top-level errors", {"errors": [{"status": 404, "message": "x"}]})])
