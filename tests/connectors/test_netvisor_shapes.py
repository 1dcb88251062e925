"""Netvisor against its published resource shapes: both documented shapes of dimensionlist.nv and
accountbalance.nv, blank dimension items, the line's own keys, damaged answers, the organisation id
and what an authentication failure says."""

from __future__ import annotations

import copy
import re
from collections import Counter
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import httpx
import pyarrow as pa
import pytest
import yaml

from connectors import netvisor
from connectors.companies import CompaniesConfigError, parse_companies
from connectors.errors import AuthenticationError, BadResponseError, TransientError
from connectors.fiscal import FiscalPeriod
from connectors.http import RetryPolicy
from connectors.netvisor import NetvisorClient, auth_failure
from connectors.spec import ClientSettings
from simulator.catalogue import as_of, books_for, demo_tenants
from simulator.netvisor import NetvisorSimulator
from simulator.server import serve_in_thread
from tests.conftest import ROOT

TENANT = next(t for t in demo_tenants() if t.profile.key == "dahlia")
CREDS = TENANT.credentials
ORG = TENANT.profile.business_id
BOOKS = books_for(TENANT.profile, as_of())
FY = BOOKS.fiscal_years[1]
PERIOD = FiscalPeriod(str(FY.id), FY.start, FY.end)
FAST = RetryPolicy(max_attempts=3, base_delay=0.0)
OK = "<Root><ResponseStatus><Status>OK</Status><TimeStamp>2.4.2025 6:10:44</TimeStamp></ResponseStatus>"


def client(url: str, organisation_id: str = ORG, **kwargs) -> NetvisorClient:
    return NetvisorClient(
        "dahlia",
        url,
        CREDS["customer_id"],
        CREDS["customer_key"],
        CREDS["partner_id"],
        CREDS["partner_key"],
        organisation_id,
        sleep=lambda s: None,
        **kwargs,
    )


def scripted(*bodies: str) -> tuple[NetvisorClient, list[httpx.Request]]:
    """A client whose requests get these bodies in turn (the last one repeated), and what it sent."""
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, text=bodies[min(len(sent), len(bodies)) - 1])

    nv = NetvisorClient(
        "acme",
        "https://isvapi.netvisor.test",
        "CID",
        "ck",
        "PID",
        "pk",
        "1234567-1",
        retry=FAST,
        sleep=lambda s: None,
        transport=httpx.MockTransport(handler),
    )
    return nv, sent


@pytest.fixture(scope="module")
def older_shapes() -> Iterator[tuple[str, NetvisorSimulator]]:
    """The simulator answering the shapes documented before the current ones."""
    simulator = NetvisorSimulator(demo_tenants(), dimension_codes=False, balance_numbers=False)
    with serve_in_thread(app=simulator.app()) as url:
        yield url, simulator


@pytest.fixture(scope="module")
def own_simulator() -> Iterator[tuple[str, NetvisorSimulator]]:
    """A simulator of this module's own, so a test can see what it received."""
    simulator = NetvisorSimulator(demo_tenants())
    with serve_in_thread(app=simulator.app()) as url:
        yield url, simulator


def table(batches) -> pa.Table:
    return pa.Table.from_batches(list(batches))


# -- dimensionlist.nv ----------------------------------------------------------------------------


def test_dimension_items_take_code_and_label_in_the_current_shape(simulator_url):
    with client(f"{simulator_url}/netvisor") as nv:
        rows = table(nv.dimensions()).to_pylist()
    assert sorted((r["dimension_type_name"], r["item_code"], r["item_name"], r["is_active"]) for r in rows) == sorted(
        (name, code, label, True) for name, items in BOOKS.dimension_types.values() for code, label in items
    )
    assert ("Projekti", "P-001", "Asiakasprojekti A", True) in {
        (r["dimension_type_name"], r["item_code"], r["item_name"], r["is_active"]) for r in rows
    }


def test_dimension_items_fall_back_to_name_in_the_older_shape(older_shapes):
    url, _ = older_shapes
    with client(url) as nv:
        rows = table(nv.dimensions()).to_pylist()
    assert len(rows) == 6
    assert all(r["item_code"] == r["item_name"] for r in rows)
    assert {r["item_code"] for r in rows} == {code for _, items in BOOKS.dimension_types.values() for code, _ in items}


DIMENSIONS = (
    OK + "<DimensionNameList>"
    "<DimensionName><Netvisorkey>1</Netvisorkey><Name>Projekti</Name><IsHidden>false</IsHidden><LinkType>0</LinkType>"
    "<DimensionDetails>"
    "<DimensionDetail><Netvisorkey>11</Netvisorkey><Name>P001 Website renewal</Name><Code>P001</Code>"
    "<Label>Website renewal</Label><IsHidden>False</IsHidden><Level>1</Level></DimensionDetail>"
    "<DimensionDetail><Netvisorkey>12</Netvisorkey><Name>Old project</Name><IsHidden>True</IsHidden>"
    "<Level>1</Level></DimensionDetail>"
    "<DimensionDetail><Netvisorkey>13</Netvisorkey><Name>Intranet</Name><Label>Intranet</Label>"
    "<IsHidden>false</IsHidden><Level>1</Level></DimensionDetail>"
    "</DimensionDetails></DimensionName>"
    "<DimensionName><Netvisorkey>2</Netvisorkey><Name>Vanha</Name><IsHidden>True</IsHidden><LinkType>0</LinkType>"
    "<DimensionDetails><DimensionDetail><Netvisorkey>21</Netvisorkey><Name>A</Name><IsHidden>False</IsHidden>"
    "</DimensionDetail></DimensionDetails></DimensionName>"
    "</DimensionNameList></Root>"
)


def test_hidden_items_and_items_of_hidden_headers_are_inactive():
    nv, sent = scripted(DIMENSIONS)
    rows = table(nv.dimensions()).to_pylist()
    assert str(sent[0].url).endswith("dimensionlist.nv?showhidden=1")
    assert [(r["dimension_type_name"], r["item_id"], r["item_code"], r["item_name"], r["is_active"]) for r in rows] == [
        ("Projekti", "11", "P001", "Website renewal", True),
        ("Projekti", "12", "Old project", "Old project", False),  # hidden
        ("Projekti", "13", "Intranet", "Intranet", True),  # no code: Name is the code as lines give it
        ("Vanha", "21", "A", "A", False),  # its header is hidden
    ]


@pytest.mark.parametrize(
    ("bad", "good", "why"),
    [
        ("<IsHidden>False</IsHidden><Level>1</Level></DimensionDetail>", "<Level>1</Level></DimensionDetail>", "item 11: IsHidden: expected True or False, got None"),
        ("<IsHidden>False</IsHidden><Level>1</Level></DimensionDetail>", "<IsHidden>0</IsHidden><Level>1</Level></DimensionDetail>", "item 11: IsHidden: expected True or False, got '0'"),
        ("<Netvisorkey>11</Netvisorkey>", "<Netvisorkey> </Netvisorkey>", "item (no key): Netvisorkey is missing or empty"),
        ("<Name>P001 Website renewal</Name><Code>P001</Code><Label>Website renewal</Label>", "", "item 11: no Code, Label or Name"),
    ],
)  # fmt: skip
def test_a_dimension_item_outside_the_documented_shape_names_the_item(bad, good, why):
    nv, _ = scripted(DIMENSIONS.replace(bad, good, 1))
    with pytest.raises(BadResponseError) as err:
        list(nv.dimensions())
    assert str(err.value).startswith("netvisor company 'acme', endpoint 'dimensionlist': dimension 'Projekti', ")
    assert str(err.value).endswith(why)


# -- accountingledger.nv: blank dimension items, keys of the line --------------------------------


def voucher(*lines: str, key: str = "77") -> str:
    return (
        f'{OK}<Vouchers><Voucher status="valid"><NetvisorKey>{key}</NetvisorKey><VoucherDate>3.2.2025</VoucherDate>'
        f'<VoucherNumber>5</VoucherNumber><VoucherClass netvisorKey="1">MU Muistiotosite</VoucherClass>'
        + "".join(lines)
        + "</Voucher></Vouchers></Root>"
    )


def line(key: str, amount: str, account: str, extra: str = "") -> str:
    return (
        f'<VoucherLine status="valid"><NetvisorKey>{key}</NetvisorKey><LineSum>{amount}</LineSum>'
        f"<Description>rivi</Description><AccountNumber>{account}</AccountNumber><VatPercent>0</VatPercent>"
        f"<VatCode>-</VatCode>{extra}</VoucherLine>"
    )


FEBRUARY = FiscalPeriod("1", date(2025, 2, 1), date(2025, 2, 28))
WEEK = FiscalPeriod("1", date(2025, 2, 1), date(2025, 2, 8))  # one ledger window (the probe)
COST_CENTRE = "<Dimension><DimensionName>Kustannuspaikka</DimensionName><DimensionItem>100</DimensionItem></Dimension>"


def test_a_blank_dimension_item_is_no_item_and_the_line_keeps_its_keys():
    xml = voucher(
        line(
            "901",
            "-100,00",
            "3000",
            COST_CENTRE
            + "<Dimension><DimensionName>Projekti</DimensionName><DimensionItem> </DimensionItem></Dimension>"
            + '<AccountDimension netvisorkey="42">Seuranta A</AccountDimension>',
        ),
        line("902", "100,00", "1701", "<Dimension><DimensionName>Projekti</DimensionName><DimensionItem/></Dimension>"),
    )
    nv, _ = scripted(xml)
    rows = table(nv.ledger(WEEK)).to_pylist()
    assert [(r["line_key"], r["line_sum"], r["account_dimension_key"], r["dimensions"]) for r in rows] == [
        ("901", Decimal("-100.00"), "42", [{"name": "Kustannuspaikka", "item": "100"}]),
        ("902", Decimal("100.00"), None, []),
    ]


@pytest.mark.parametrize(
    ("extra", "why"),
    [
        ("<Dimension><DimensionName>Projekti</DimensionName></Dimension>", "a Dimension without DimensionItem"),
        ("<Dimension><DimensionName> </DimensionName><DimensionItem>P-1</DimensionItem></Dimension>",
         "dimension item 'P-1' without a DimensionName"),
        ('<AccountDimension type="name">Seuranta A</AccountDimension>',
         "AccountDimension without its netvisorkey attribute"),
    ],
)  # fmt: skip
def test_a_ledger_dimension_outside_the_documented_shape_names_the_voucher(extra, why):
    nv, _ = scripted(voucher(line("901", "-100,00", "3000", extra), line("902", "100,00", "1701")))
    with pytest.raises(BadResponseError) as err:
        list(nv.ledger(WEEK))
    where = "window 2025-02-01..2025-02-08, voucher 77, line 1"
    assert str(err.value) == f"netvisor company 'acme', endpoint 'accountingledger': {where}: {why}"


def test_the_simulators_ledger_gives_each_line_its_key_and_the_books_dimensions(simulator_url):
    with client(f"{simulator_url}/netvisor") as nv:
        rows = table(nv.ledger(PERIOD)).to_pylist()
        raw = nv.get("accountingledger.nv", {"startdate": "2025-01-01", "enddate": "2025-12-31", "voucherstatus": "1"})
    assert raw.count(b"<DimensionItem> </DimensionItem>") > 10  # blank items were served
    expected = {}
    for v in BOOKS.vouchers:
        if FY.start <= v.date <= FY.end:
            for number, booked in enumerate([*v.lines, *v.superseded_lines], start=1):
                items = sorted((BOOKS.dimension_types[t][0], item) for t, item in booked.dimensions)
                expected[(str(v.id), number)] = items
    got = {(r["voucher_key"], r["line_number"]): sorted((d["name"], d["item"]) for d in r["dimensions"]) for r in rows}
    assert got == expected
    keys = [r["line_key"] for r in rows]
    assert None not in keys and len(set(keys)) == len(keys)  # every line keeps its own NetvisorKey
    assert {r["account_dimension_key"] for r in rows} == {None}


# -- accountbalance.nv ---------------------------------------------------------------------------


def expected_balances() -> list[tuple[str, date, Decimal, Decimal]]:
    return sorted((a.number, FY.end, *BOOKS.balance(a.number, FY.end)) for a in BOOKS.accounts)


def balances_of(nv: NetvisorClient) -> list[tuple[str, date, Decimal, Decimal]]:
    rows = table(nv.account_balances(PERIOD)).to_pylist()
    assert {(r["company_id"], r["fiscal_year"], r["period_id"]) for r in rows} == {("dahlia", 2025, PERIOD.id)}
    return sorted((r["account_number"], r["balance_date"], r["debit"], r["credit"]) for r in rows)


def test_balances_in_the_current_shape_name_each_account_by_number(simulator_url):
    with client(f"{simulator_url}/netvisor") as nv:
        assert balances_of(nv) == expected_balances()
        assert nv.pages_fetched == 1
    assert sum(d for _, _, d, _ in expected_balances()) > Decimal("100000")  # real numbers, not zeros


def test_balances_in_the_older_shape_take_the_number_from_the_account_list(older_shapes):
    url, _ = older_shapes
    with client(url) as nv:
        assert balances_of(nv) == expected_balances()
        assert nv.pages_fetched == 2  # accountbalance.nv, then accountlist.nv once for the keys
        list(nv.account_balances(PERIOD))
        assert nv.pages_fetched == 3  # the account list is not asked for again


ACCOUNTS = (
    OK + "<AccountList><Accounts>"
    "<Account><NetvisorKey>6</NetvisorKey><Number>1001</Number><Name>Perustamismenot</Name>"
    "<AccountType>account</AccountType><IsActive>1</IsActive></Account>"
    "</Accounts></AccountList></Root>"
)


def balance_answer(account: str = '<Account Netvisorkey="6">', entry: str | None = None) -> str:
    if entry is None:
        entry = '<AccountBalance Date="2025-02-28"><Debet>150,22</Debet><Kredit>100,11</Kredit><Balance>50,11</Balance></AccountBalance>'
    return f"{OK}<AccountBalances>{account}{entry}</Account></AccountBalances></Root>"


def test_the_older_balance_shape_read_by_hand_matches_the_documented_example():
    nv, sent = scripted(balance_answer(), ACCOUNTS)
    rows = table(nv.account_balances(FEBRUARY)).to_pylist()
    assert [(r["account_number"], r["debit"], r["credit"]) for r in rows] == [
        ("1001", Decimal("150.22"), Decimal("100.11"))
    ]
    assert [r.url.path for r in sent] == ["/accountbalance.nv", "/accountlist.nv"]


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        (balance_answer('<Account Netvisorkey="9">'), "account 9: Netvisorkey 9 (no Number given) is not an account of accountlist.nv"),
        (balance_answer("<Account>"), "account None: an Account with neither a Netvisorkey attribute nor a Number"),
        (balance_answer(entry='<AccountBalance Date="2025-02-28"><Debet>150,22</Debet><Credit>100,11</Credit><Balance>50,11</Balance></AccountBalance>'),
         "account 1001 (Netvisorkey 6): AccountBalance 2025-02-28: Kredit is missing"),
        (balance_answer(entry='<AccountBalance Date="2025-02-28"><Debet>150,22</Debet><Kredit>100,11</Kredit><Balance>50,00</Balance></AccountBalance>'),
         "account 1001 (Netvisorkey 6): AccountBalance 2025-02-28: Balance 50.00 is not Debet 150.22 - Kredit 100.11"),
        (balance_answer(entry='<AccountBalance Date="2025-02-27"><Debet>1,00</Debet><Kredit>0,00</Kredit><Balance>1,00</Balance></AccountBalance>'),
         "account 1001 (Netvisorkey 6): AccountBalance Date 2025-02-27 was not asked for (balancedates=2025-02-28)"),
        (balance_answer(entry=""), "account 1001 (Netvisorkey 6): no AccountBalance"),
        (balance_answer('<Account Netvisorkey="6"><Number>10 01</Number>'), "account 6: Number: '10 01' is not an account number"),
        (f"{OK}<AccountBalances/></Root>", "no Account balances for 2025-02-28 (the documented answer lists every account)"),
        (f"{OK}<Balances><Row>1</Row></Balances></Root>", "no Account balances for 2025-02-28"),
    ],
)  # fmt: skip
def test_a_balance_answer_in_neither_documented_shape_is_an_error_naming_the_account(answer, why):
    nv, _ = scripted(answer, ACCOUNTS)
    with pytest.raises(BadResponseError) as err:
        list(nv.account_balances(FEBRUARY))
    assert str(err.value).startswith(f"netvisor company 'acme', endpoint 'accountbalance': {why}")


# -- damaged answers -----------------------------------------------------------------------------

DAMAGED_ACCOUNTS = ACCOUNTS[: ACCOUNTS.index("<Name>") + 9]  # cut off after ResponseStatus


def test_an_answer_damaged_after_its_response_status_is_asked_for_again():
    nv, sent = scripted(DAMAGED_ACCOUNTS, ACCOUNTS.replace("</Root>", "</Root><junk/>"), ACCOUNTS)
    rows = table(nv.accounts()).to_pylist()
    assert [(r["account_key"], r["account_number"]) for r in rows] == [("6", "1001")]
    assert len(sent) == 3 and nv.session.retries == 2


def test_an_answer_damaged_every_time_is_a_transient_error_naming_the_endpoint():
    nv, sent = scripted(DAMAGED_ACCOUNTS)
    with pytest.raises(TransientError) as err:
        list(nv.accounts())
    assert len(sent) == FAST.max_attempts
    assert str(err.value).startswith(
        "netvisor company 'acme', endpoint 'accountlist': gave up after 3 attempts; "
        "last error: damaged XML after ResponseStatus in HTTP 200 response (no element found: line 1"
    )


LEDGER = voucher(line("901", "-100,00", "3000", COST_CENTRE), line("902", "100,00", "1701"))
DAMAGED_LEDGER = LEDGER[: LEDGER.index("902")]


@pytest.mark.parametrize("offloaded", [False, True], ids=["decoded here", "decoded in a worker"])
def test_a_ledger_window_damaged_after_its_response_status_is_asked_for_again(offloaded, monkeypatch):
    netvisor.offload.shutdown()  # workers an earlier test left running would be counted below
    if offloaded:
        monkeypatch.setenv(netvisor.offload.WORKERS_ENV, "1")
        monkeypatch.setattr(netvisor, "OFFLOAD_BYTES", 0)
    try:
        nv, sent = scripted(DAMAGED_LEDGER, DAMAGED_LEDGER, LEDGER)
        rows = table(nv.ledger(WEEK)).to_pylist()
        workers = netvisor.offload.shutdown()
    finally:
        netvisor.offload.shutdown()
    assert workers == (1 if offloaded else 0)
    assert [(r["line_key"], r["line_sum"]) for r in rows] == [("901", Decimal("-100.00")), ("902", Decimal("100.00"))]
    assert len(sent) == 3 and all("startdate=2025-02-01&enddate=2025-02-08" in str(r.url) for r in sent)


def test_a_ledger_window_damaged_every_time_is_a_transient_error_naming_the_endpoint():
    nv, sent = scripted(DAMAGED_LEDGER)
    with pytest.raises(TransientError) as err:
        list(nv.ledger(WEEK))
    assert len(sent) == 1 + FAST.max_attempts  # the answer the decoder found damaged, then the budget
    assert str(err.value).startswith(
        "netvisor company 'acme', endpoint 'accountingledger': gave up after 3 attempts; "
        "last error: damaged XML after ResponseStatus"
    )


# -- the organisation id ---------------------------------------------------------------------------

BASE = yaml.safe_load((ROOT / "companies.yaml").read_text())


def dahlia(**fields: object):
    raw = copy.deepcopy(BASE)
    company = next(c for c in raw["companies"] if c["id"] == "dahlia")
    company.update(fields)
    return next(c for c in parse_companies(raw, "companies.yaml").companies if c.id == "dahlia")


def built(company) -> NetvisorClient:
    settings = ClientSettings(
        company_id=company.id,
        business_id=company.business_id,
        base_url="https://isvapi.netvisor.test",
        secrets={"customer_id": "c", "customer_key": "ck", "partner_id": "p", "partner_key": "pk"},
        options=dict(company.options),
        retry=FAST,
        requests_per_second=None,
    )
    nv = company.spec.build_client(settings)
    assert isinstance(nv, NetvisorClient)
    return nv


def test_the_organisation_id_defaults_to_the_business_id_and_can_be_set():
    default = dahlia()
    assert default.options == {"netvisor_mac_algorithm": "HMACSHA256", "netvisor_organisation_id": ""}
    assert built(default).organisation_id == ORG
    chosen = dahlia(netvisor_organisation_id="1234567-1")
    assert chosen.options["netvisor_organisation_id"] == "1234567-1"
    assert built(chosen).organisation_id == "1234567-1"


@pytest.mark.parametrize("bad", ["1234567 1", "x" * 101, "tunnus\u00e4"])
def test_an_organisation_id_that_cannot_travel_in_a_header_is_refused(bad):
    with pytest.raises(CompaniesConfigError) as err:
        dahlia(netvisor_organisation_id=bad)
    assert "company 'dahlia'" in str(err.value)
    assert "netvisor_organisation_id: must be printable ASCII without spaces, at most 100 characters" in str(err.value)


def test_the_organisation_id_is_a_netvisor_setting_only():
    raw = copy.deepcopy(BASE)
    raw["companies"][0]["options"] = {"netvisor_organisation_id": "1234567-1"}  # aurora, a Fennoa company
    with pytest.raises(CompaniesConfigError) as err:
        parse_companies(raw, "companies.yaml")
    assert "netvisor_organisation_id: not a setting of fennoa" in str(err.value)


def test_the_organisation_id_is_sent_and_signed():
    nv, sent = scripted(OK + "<VoucherTypeList><VoucherTypes/></VoucherTypeList></Root>")
    list(nv.voucher_types())
    headers = sent[0].headers
    assert headers["X-Netvisor-Organisation-ID"] == "1234567-1"
    assert "X-Netvisor-Authentication-UseHTTPResponseStatusCodes" not in headers  # failures come as documented
    mac = netvisor.compute_mac(
        "HMACSHA256",
        str(sent[0].url),
        headers["X-Netvisor-Authentication-Sender"],
        "CID",
        headers["X-Netvisor-Authentication-Timestamp"],
        "FI",
        "1234567-1",
        headers["X-Netvisor-Authentication-TransactionId"],
        headers["X-Netvisor-Authentication-TimestampUnix"],
        "ck",
        "pk",
    )
    assert headers["X-Netvisor-Authentication-MAC"] == mac


# -- what an authentication failure says ------------------------------------------------------------


def secrets_absent(message: str, simulator: NetvisorSimulator, *values: str) -> None:
    for value in (*CREDS.values(), *values, *simulator.macs_seen):
        assert value not in message
    assert not re.search(r"[0-9a-fA-F]{32}", message)  # no digest, ours or the one Netvisor computed
    assert "YOUR_PRIVATE_KEY_HERE" not in message and "&" not in message  # nor the MAC input it quoted


def test_a_wrong_organisation_id_keeps_netvisors_reason_and_names_the_field(own_simulator):
    url, simulator = own_simulator
    with client(url, organisation_id="7654321-9") as nv, pytest.raises(AuthenticationError) as err:
        nv.fiscal_periods()
    message = str(err.value)
    assert message == (
        "netvisor company 'dahlia', endpoint 'accountingperiodlist': authentication failed (AUTHENTICATION_FAILED): "
        "Netvisor says 'Organisation not found'; check the option netvisor_organisation_id "
        "(sent as X-Netvisor-Organisation-ID; when empty, the company's business_id)"
    )
    secrets_absent(message, simulator, "7654321-9")
    assert nv.session.retries == 0  # not retried: new credentials are needed


def test_a_wrong_key_keeps_netvisors_reason_without_the_mac_input_it_quotes(own_simulator):
    url, simulator = own_simulator
    with (
        NetvisorClient(
            "dahlia", url, CREDS["customer_id"], "wrong-key", CREDS["partner_id"], CREDS["partner_key"], ORG
        ) as nv,
        pytest.raises(AuthenticationError) as err,
    ):
        list(nv.accounts())
    message = str(err.value)
    assert message == (
        "netvisor company 'dahlia', endpoint 'accountlist': authentication failed (AUTHENTICATION_FAILED): "
        "Netvisor says 'Integration keys are not valid.'; check the credentials customer_id, customer_key, "
        "partner_id and partner_key and the option netvisor_mac_algorithm"
    )
    secrets_absent(message, simulator, "wrong-key", ORG)


@pytest.mark.parametrize(
    ("text", "reason", "fields"),
    [
        ("Integration keys are not valid. Please check the keys specific to the user and partner.",
         "Integration keys are not valid.", ["customer_key", "partner_key", "netvisor_mac_algorithm"]),
        ("Integraatiokumppania ei löydy, katso dokumentaatio", "Integraatiokumppania ei löydy, katso dokumentaatio",
         ["partner_id", "partner_key"]),
        ("Unknown customer or partner", "Unknown customer or partner", ["customer_id", "partner_id"]),
        ("Integration keys or MAC are not valid :: 9F2C" + "a" * 60, "Integration keys or MAC are not valid",
         ["customer_id", "netvisor_mac_algorithm"]),
        ("Something else entirely", "Something else entirely",
         ["customer_id", "partner_key", "netvisor_mac_algorithm", "netvisor_organisation_id"]),
        ("Tunniste " + "ab" * 20 + " ei kelpaa", "Tunniste [redacted] ei kelpaa", ["netvisor_organisation_id"]),
    ],
)  # fmt: skip
def test_netvisors_reason_is_kept_with_a_hint_naming_the_fields(text, reason, fields):
    cause = auth_failure(text)
    assert cause.startswith(f"authentication failed (AUTHENTICATION_FAILED): Netvisor says {reason!r}; check ")
    assert all(f in cause for f in fields)
    assert "9F2C" not in cause


def test_every_line_of_a_year_is_kept_once_with_its_status(simulator_url):
    """The line keys the warehouse now carries do not change what is extracted: every line once."""
    with client(f"{simulator_url}/netvisor") as nv:
        rows = table(nv.ledger(PERIOD)).to_pylist()
    lines = Counter((r["voucher_key"], r["line_number"]) for r in rows)
    assert set(lines.values()) == {1}
    assert len(rows) == sum(
        len(v.lines) + len(v.superseded_lines) for v in BOOKS.vouchers if FY.start <= v.date <= FY.end
    )
