"""No credential reaches an exception, even from a server that echoes everything it was sent.

A loopback server answers each API's error shape (Fennoa JSON envelope, Netvisor XML ResponseStatus,
Procountor JSON errors, NAG JSON error) with a body and a status text quoting every request header,
the query string and the request body, plus an `Authorization: Bearer` credential the client never
had. Each client is driven at it, token endpoints included; every secret and derived value (Basic
header, MAC, tokens) must be absent from each raised exception's str, repr, args, cause and chain,
and present in what the server echoed, so the test cannot pass vacuously.
"""

from __future__ import annotations

import base64
import json
import pickle
import threading
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote_plus

import httpx
import pytest

from connectors import fennoa, offload
from connectors.bank import TokenSet, TokenStore
from connectors.errors import AuthenticationError, BadResponseError, ConnectorError, TransientError
from connectors.fennoa import FennoaClient
from connectors.http import ApiSession, RetryPolicy
from connectors.nag import NagClient
from connectors.netvisor import NetvisorClient
from connectors.procountor import ProcountorClient
from connectors.redact import MASK, redact

UNKNOWN_BEARER = "upstream-9f8e7d6c5b4a"  # a token only the server knows: masked by its shape
ACCESS_TOKEN = "pc-access-7Hq2xL9vR4mN"
NAG_ACCESS = "nag-access-3kP8sW1zQ6yT"
NAG_LOGIN = "nag-login-5bV0cX7nM2aJ"
NAG_CODE = "auth-code-8dF4gH2jK6lZ"


@dataclass
class Echoes:
    """What the server received and answered, per request (the test's proof that it echoed)."""

    texts: list[str] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)


class _Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("latin-1")
        headers = "; ".join(f"{k}: {v}" for k, v in self.headers.items())
        echo = f"{self.command} {self.path} headers: {headers}; Authorization: Bearer {UNKNOWN_BEARER}; body: {body}"
        scheme, _, credentials = self.headers.get("Authorization", "").partition(" ")
        if scheme == "Basic":  # and what it decodes to, as a server naming the user would
            echo += f"; user:key {base64.b64decode(credentials).decode()}"
        echoes: Echoes = self.server.echoes  # type: ignore[attr-defined]
        echoes.texts.append(echo)
        echoes.headers.append(dict(self.headers.items()))
        status, content_type, payload = _route(self.path, echo)
        reason = echo.replace("\r", " ").replace("\n", " ")[:2000]
        self.send_response(status, reason)  # the status text echoes too
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        pass


def _json(status: int, body: object) -> tuple[int, str, bytes]:
    return status, "application/json", json.dumps(body).encode()


def _route(path: str, echo: str) -> tuple[int, str, bytes]:
    api, mode = path.split("/")[1:3]
    if api == "fennoa":  # the {status, data, errors} envelope, in a 400 or in a 200
        return _json(400 if mode == "400" else 200, {"status": "ERROR", "errors": {"message": echo}})
    if api == "netvisor":  # failures inside HTTP 200, category :: text
        category = "TECHNICAL_ERROR" if mode == "transient" else "INVALID_DATA"
        xml = (
            "<Root><ResponseStatus><Status>FAILED</Status>"
            f"<Status>{category} :: {escape(echo)}</Status></ResponseStatus></Root>"
        )
        return 200, "text/xml", xml.encode()
    if api == "procountor":
        if "oauth/token" in path:
            if mode == "token400":
                return _json(400, {"errors": [{"message": echo}]})
            if mode == "token200":
                return _json(200, {"error": echo})
            return _json(200, {"access_token": ACCESS_TOKEN, "expires_in": 3600})
        return _json(400, {"errors": [{"message": echo}]})
    if api == "nag":
        return _json(400, {"error": echo})
    return _json(404, {"error": echo})


@pytest.fixture
def echo() -> Iterator[tuple[str, Echoes]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    server.echoes = Echoes()  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", server.echoes  # type: ignore[attr-defined]
    server.shutdown()
    server.server_close()


FAST = RetryPolicy(max_attempts=2, base_delay=0.0)


def texts_of(exc: BaseException) -> list[str]:
    """Everything an exception can show: str, repr, args, cause, its chain, the formatted traceback."""
    out: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        out += [str(current), repr(current), *(str(a) for a in current.args)]
        if isinstance(current, ConnectorError):
            out.append(current.cause)
            out.append(str(pickle.loads(pickle.dumps(current))))
        current = current.__cause__ or current.__context__
    out.append("".join(traceback.format_exception(exc)))
    return out


def assert_masked(exc: BaseException, secrets: list[str], echoes: Echoes, sent: list[str]) -> None:
    everything = "\n".join(echoes.texts)
    for value in sent:  # the server really echoed these: the test is not vacuous
        assert value in everything, f"the echo server did not echo {value!r}"
    assert UNKNOWN_BEARER in everything
    shown = "\n".join(texts_of(exc))
    for value in [*secrets, UNKNOWN_BEARER]:
        assert value not in shown, f"{value!r} leaked into {type(exc).__name__}"
    assert MASK in str(exc) or "token" in str(exc)  # server text was quoted (masked), or none at all


# -- Fennoa: Basic auth --------------------------------------------------------------------------------

FENNOA_USER, FENNOA_KEY = "acme-api-user", "fn-key-Zq81+/x=Kd"
BASIC = base64.b64encode(f"{FENNOA_USER}:{FENNOA_KEY}".encode()).decode()


@pytest.mark.parametrize("mode", ["400", "200"], ids=["http-400-envelope", "http-200-error-envelope"])
def test_fennoa_error_echoing_the_basic_header_masks_user_key_and_header(echo, mode):
    url, echoes = echo
    with FennoaClient("acme", f"{url}/fennoa/{mode}", FENNOA_USER, FENNOA_KEY, retry=FAST) as c:
        with pytest.raises(BadResponseError) as err:
            list(c.accounts())
    assert "fennoa company 'acme', endpoint 'accounts'" in str(err.value)
    assert_masked(err.value, [FENNOA_USER, FENNOA_KEY, BASIC], echoes, sent=[f"Basic {BASIC}", FENNOA_USER, FENNOA_KEY])


def test_fennoa_error_decoded_in_a_worker_is_masked_in_the_caller(monkeypatch):
    # A 200 page whose envelope says ERROR is checked in a decode worker (no secrets registered
    # there); the exception and the worker's traceback text are masked when they reach this process.
    monkeypatch.setenv(offload.WORKERS_ENV, "1")
    monkeypatch.setattr(fennoa, "OFFLOAD_PAGES", 1)
    leaked = f"echo: user {FENNOA_USER} key {FENNOA_KEY} header Basic {BASIC}"

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/periods"):
            return httpx.Response(
                200, json={"status": "OK", "data": [{"id": 1, "start_date": "2025-01-01", "end_date": "2025-12-31"}]}
            )
        if request.url.path.endswith("/locking_periods"):
            return httpx.Response(200, json={"status": "OK", "data": []})
        if request.url.params["page"] == "1":
            return httpx.Response(200, json={"status": "OK", "pagination": {"pagesCount": 3}, "data": []})
        return httpx.Response(200, json={"status": "ERROR", "errors": [leaked]})

    try:
        transport = httpx.MockTransport(handler)
        with FennoaClient("acme", "http://fennoa.test/api", FENNOA_USER, FENNOA_KEY, transport=transport) as c:
            with pytest.raises(BadResponseError) as err:
                list(c.ledger(c.fiscal_periods()[0]))
    finally:
        offload.shutdown()
    assert "endpoint 'ledger'" in str(err.value) and MASK in str(err.value)
    shown = "\n".join(texts_of(err.value))
    for value in (FENNOA_USER, FENNOA_KEY, BASIC):
        assert value not in shown


# -- Netvisor: signed headers ------------------------------------------------------------------------

NV = {
    "customer_id": "NV-CUST-4411",
    "customer_key": "nv-customer-key-Wm3",
    "partner_id": "NV-PARTNER-77",
    "partner_key": "nv-partner-key-Qe9",
}


@pytest.mark.parametrize("mode", ["invalid", "transient"], ids=["INVALID_DATA", "TECHNICAL_ERROR-retried"])
def test_netvisor_error_echoing_the_signed_headers_masks_ids_keys_and_every_mac(echo, mode):
    url, echoes = echo
    nv = NetvisorClient(
        "dahlia",
        f"{url}/netvisor/{mode}",
        NV["customer_id"],
        NV["customer_key"],
        NV["partner_id"],
        NV["partner_key"],
        "1234567-1",
        retry=FAST,
        sleep=lambda s: None,
    )
    with nv, pytest.raises(BadResponseError if mode == "invalid" else TransientError) as err:
        list(nv.accounts())
    macs = [h["X-Netvisor-Authentication-MAC"] for h in echoes.headers]
    assert len(macs) == (1 if mode == "invalid" else 2) and all(len(m) == 64 for m in macs)
    assert "netvisor company 'dahlia', endpoint 'accountlist'" in str(err.value)
    assert_masked(err.value, [*NV.values(), *macs], echoes, sent=[NV["customer_id"], NV["partner_id"], *macs])


# -- Procountor: form-encoded token request, then a bearer token -----------------------------------

PC = {"client_id": "pc-client-Lr5", "client_secret": "pc+secret/Xy=%!&k", "api_key": "pc-api-key-Tn6"}
PC_FORMS = [quote_plus(v) for v in PC.values()]  # as the form-encoded token request carries them


def procountor(url: str, mode: str) -> ProcountorClient:
    return ProcountorClient(
        "eira", f"{url}/procountor/{mode}", *PC.values(), retry=FAST, requests_per_second=None, sleep=lambda s: None
    )


@pytest.mark.parametrize(
    ("mode", "kind"),
    [("token400", BadResponseError), ("token200", AuthenticationError)],
    ids=["token-endpoint-400", "token-endpoint-200-without-token"],
)
def test_procountor_token_endpoint_echoing_the_form_masks_client_secret_and_api_key(echo, mode, kind):
    url, echoes = echo
    with procountor(url, mode) as c, pytest.raises(kind) as err:
        list(c.accounts())
    assert "procountor company 'eira', endpoint 'oauth/token'" in str(err.value)
    assert_masked(err.value, [*PC.values(), *PC_FORMS], echoes, sent=PC_FORMS)


def test_procountor_data_error_echoing_the_bearer_header_masks_the_access_token(echo):
    url, echoes = echo
    with procountor(url, "data") as c, pytest.raises(BadResponseError) as err:
        list(c.accounts())
    assert "procountor company 'eira', endpoint 'coa': HTTP 400" in str(err.value)
    assert_masked(err.value, [*PC.values(), *PC_FORMS, ACCESS_TOKEN], echoes, sent=[f"Bearer {ACCESS_TOKEN}"])


# -- Nordic API Gateway: client secret headers, code, access and login tokens -------------------------

NAG = {"client_id": "nag-client-Hd2", "client_secret": "nag-secret-Vb7+/="}


def nag_client(url: str, tmp_path: Path, tokens: TokenSet | None = None) -> NagClient:
    store = TokenStore(tmp_path / "tokens.json")
    if tokens is not None:
        store.save(tokens)
    return NagClient("borealis", "borealis_bank", f"{url}/nag/x", *NAG.values(), store, retry=FAST)


def tokens(access_valid: bool) -> TokenSet:
    now = datetime.now(UTC)
    return TokenSet(
        access_token=NAG_ACCESS,
        access_expires=now + (timedelta(hours=1) if access_valid else -timedelta(hours=1)),
        login_token=NAG_LOGIN,
        login_expires=now + timedelta(days=30),
        supports_unattended=True,
        provider_id="sim-bank",
        authorized_at=now - timedelta(days=1),
    )


def test_nag_token_exchange_echoing_the_code_and_client_secret_masks_them(echo, tmp_path):
    url, echoes = echo
    with nag_client(url, tmp_path) as c, pytest.raises(BadResponseError) as err:
        c.complete_authorization(NAG_CODE)
    assert "nag company 'borealis', endpoint 'authentication/tokens': HTTP 400" in str(err.value)
    assert_masked(err.value, [*NAG.values(), NAG_CODE], echoes, sent=[*NAG.values(), NAG_CODE])


def test_nag_unattended_login_echoing_the_login_token_masks_it(echo, tmp_path):
    url, echoes = echo
    with nag_client(url, tmp_path, tokens(access_valid=False)) as c, pytest.raises(AuthenticationError) as err:
        list(c.accounts())
    assert "unattended login refused" in str(err.value)
    assert_masked(err.value, [*NAG.values(), NAG_ACCESS, NAG_LOGIN], echoes, sent=[*NAG.values(), NAG_LOGIN])


def test_nag_data_error_echoing_the_bearer_header_masks_the_access_token(echo, tmp_path):
    url, echoes = echo
    with nag_client(url, tmp_path, tokens(access_valid=True)) as c, pytest.raises(BadResponseError) as err:
        list(c.accounts())
    assert "nag company 'borealis', endpoint 'v2/accounts': HTTP 400" in str(err.value)
    assert_masked(err.value, [*NAG.values(), NAG_ACCESS, NAG_LOGIN], echoes, sent=[f"Bearer {NAG_ACCESS}"])


# -- the mechanism itself -----------------------------------------------------------------------------


def test_credential_shaped_text_is_masked_even_when_unknown():
    cases = {
        "Authorization: Basic dXNlcjpwYXNz": "Authorization: " + MASK,
        "{'authorization': 'Bearer abc.def.ghi'}": "{'authorization': '" + MASK + "'}",
        "got Bearer eyJhbGciOi.x.y back": "got Bearer " + MASK + " back",
        "Basic dXNlcjpwYXNzd29yZA== was sent": "Basic " + MASK + " was sent",
        "client_secret=s3cr3t&grant_type=x": "client_secret=" + MASK + "&grant_type=x",
        '{"accessToken": "eyJ123", "expires": "2026"}': '{"accessToken": "' + MASK + '", "expires": "2026"}',
        "X-Netvisor-Authentication-MAC: 0a1b2c": "X-Netvisor-Authentication-MAC: " + MASK,
        "<X-Client-Secret>v</X-Client-Secret>": "<X-Client-Secret>" + MASK + "</X-Client-Secret>",
    }
    for text, masked in cases.items():
        assert redact(text) == masked
        assert redact(masked) == masked  # idempotent
    for plain in (
        "page 3, row 7: debit: '-5.00' is negative (debit and credit are non-negative amounts)",
        "HTTP 400 from the token endpoint",
        "no access_token in the token response",
        "gave up after 6 attempts; last error: HTTP 503",
    ):
        assert redact(plain) == plain


def test_registered_values_are_masked_in_every_form_and_survive_pickling():
    secret = 'k3y "with" <odd> & chars+/'
    with ApiSession("x", "acme", "http://x.test", secrets=[secret]) as session:
        for form in (secret, quote_plus(secret), json.dumps(secret)[1:-1], escape(secret)):
            error = session.error(BadResponseError, "e", f"server said: {form}!")
            assert form not in str(error) and MASK in str(error)
            again = pickle.loads(pickle.dumps(error))
            assert type(again) is BadResponseError and str(again) == str(error)
        session.register_secret("derived-token-123")
        assert "derived-token-123" not in str(BadResponseError("x", "acme", "e", "t=derived-token-123;"))


def test_a_long_cause_is_cut_after_masking_never_through_a_secret():
    secret = "Zx9-long-secret-value"
    with ApiSession("x", "acme", "http://x.test", secrets=[secret]):
        cause = "y" * 995 + secret + "z" * 100
        error = BadResponseError("x", "acme", "e", cause)
    assert len(error.cause) == 1000 and secret[:5] not in error.cause
