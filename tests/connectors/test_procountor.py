"""Procountor: tokens, list + detail, exclusions with reasons, derived VAT that balances."""

from collections import Counter
from decimal import Decimal

import pyarrow as pa
import pytest

from connectors.errors import AuthenticationError
from connectors.procountor import ProcountorClient
from simulator.catalogue import as_of, books_for, demo_tenants
from simulator.server import serve_in_thread

TENANT = next(t for t in demo_tenants() if t.profile.key == "eira")
CREDS = TENANT.credentials


def client(url, **kwargs) -> ProcountorClient:
    return ProcountorClient("eira", url, CREDS["client_id"], CREDS["client_secret"], CREDS["api_key"], **kwargs)


@pytest.fixture(scope="module")
def latest_year(simulator_url):
    with client(f"{simulator_url}/procountor/api") as pc:
        period = pc.fiscal_periods()[-1]
        table = pa.Table.from_batches(list(pc.ledger(period)))
        return period, table, pc.detail_calls


def test_every_official_receipt_balances_with_the_derived_vat(latest_year):
    _, table, _ = latest_year
    totals = Counter()
    for row in table.to_pylist():
        if row["is_official"]:
            totals[row["receipt_id"]] += row["amount"]
    assert totals and all(v == Decimal("0.00") for v in totals.values())
    assert any(row["is_derived_vat"] for row in table.to_pylist())


def test_non_official_receipts_are_kept_with_the_reason_and_no_lines(latest_year):
    _, table, detail_calls = latest_year
    excluded = [r for r in table.to_pylist() if not r["is_official"]]
    reasons = Counter(r["exclusion_reason"] for r in excluded)
    assert set(reasons) <= {"invalidated receipt", "unfinished receipt", "order, not an official business transaction"}
    assert reasons["unfinished receipt"] >= 1 and reasons["invalidated receipt"] >= 1
    assert all(r["account_number"] is None for r in excluded)
    official = {r["receipt_id"] for r in table.to_pylist() if r["is_official"]}
    assert detail_calls == len(official)  # details fetched only for official receipts


def test_ledger_matches_the_books(latest_year):
    period, table, _ = latest_year
    books = books_for(TENANT.profile, as_of())
    expected = Counter(
        (line.account, line.amount)
        for v in books.valid_vouchers
        if period.start <= v.date <= period.end
        for line in v.lines
    )
    got = Counter((r["account_number"], r["amount"]) for r in table.to_pylist() if r["is_official"])
    assert got == expected  # the derived VAT lines reproduce the books' VAT postings exactly


def test_edited_receipt_gets_a_new_id_and_the_old_one_is_invalidated(simulator_url):
    books = books_for(TENANT.profile, as_of())
    edited = [v for v in books.valid_vouchers if v.superseded_lines]
    assert edited
    with client(f"{simulator_url}/procountor/api") as pc:
        period = next(p for p in pc.fiscal_periods() if p.start <= edited[0].date <= p.end)
        index = pc.receipt_index(period)
    same_number = [
        r
        for r in index
        if r["receiptNumber"] == edited[0].number
        and r["type"] == "PURCHASE_INVOICE"
        and r["receiptDate"] == edited[0].date.isoformat()
    ]
    assert sorted(r["status"] for r in same_number) == ["APPROVED", "INVALIDATED"]
    assert len({r["id"] for r in same_number}) == 2


def test_a_token_that_expires_mid_extract_is_renewed_and_the_extract_completes():
    with serve_in_thread(procountor_token_lifetime=0.5) as url:
        # The client's clock stands still, so it only learns of the expiry from the 401.
        with client(f"{url}/procountor/api", clock=lambda: 0.0) as pc:
            period = pc.fiscal_periods()[-1]
            table = pa.Table.from_batches(list(pc.ledger(period)))
            assert pc.tokens_issued >= 3
    books = books_for(TENANT.profile, as_of())
    expected = Counter(
        (line.account, line.amount)
        for v in books.valid_vouchers
        if period.start <= v.date <= period.end
        for line in v.lines
    )
    assert Counter((r["account_number"], r["amount"]) for r in table.to_pylist() if r["is_official"]) == expected


def test_token_is_renewed_before_it_expires():
    now = [0.0]
    with serve_in_thread(procountor_token_lifetime=3600) as url:
        with client(f"{url}/procountor/api", clock=lambda: now[0]) as pc:
            list(pc.accounts())
            now[0] = 3600 - 30  # inside the renewal margin
            list(pc.accounts())
            assert pc.tokens_issued == 2


def test_bad_credentials_name_the_company(simulator_url):
    with ProcountorClient(
        "eira", f"{simulator_url}/procountor/api", CREDS["client_id"], "bad-secret", CREDS["api_key"]
    ) as pc:
        with pytest.raises(AuthenticationError) as err:
            pc.fiscal_periods()
    assert "procountor company 'eira', endpoint 'oauth/token'" in str(err.value)
    assert "bad-secret" not in str(err.value)
