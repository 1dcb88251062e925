"""`python -m orchestration.bank authorize <connection>`: (re)authorize a bank connection.

Prints the aggregator's consent URL, waits for the bank to redirect back to a one-off loopback
address with the code, exchanges it for tokens and stores them (owner-only file). Against the
simulator the consent page approves at once, so the command completes by itself. Also
`python -m orchestration.bank status` lists every connection's consent expiry.
"""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlparse

import httpx

from assets.resources import BankClients
from connectors.companies import load_companies
from connectors.errors import ConnectorError
from connectors.settings import Settings, load_settings


class _Callback(BaseHTTPRequestHandler):
    code: str | None = None
    done = threading.Event()

    def do_GET(self):
        query = parse_qs(urlparse(self.path).query)
        type(self).code = next(iter(query.get("code") or []), None)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(
            b"Bank authorization received; you can close this window."
            if self.code
            else b"Authorization failed or was cancelled."
        )
        type(self).done.set()

    def log_message(self, *args):  # keep the code out of the terminal
        pass


def authorize(
    connection_id: str,
    timeout: float = 600,
    auto: bool | None = None,
    out: Callable[[str], object] = print,
    settings: Settings | None = None,
) -> datetime:
    settings = settings or load_settings()
    config = load_companies(settings.companies_file, require_env=False)
    found = [(c, b) for c, b in config.bank_connections() if b.id == connection_id]
    if not found:
        raise SystemExit(
            f"{settings.companies_file}: no bank connection {connection_id!r} "
            f"(known: {', '.join(b.id for _, b in config.bank_connections()) or 'none'})"
        )
    company, connection = found[0]
    bank = BankClients.from_settings(settings)
    _Callback.code, _Callback.done = None, threading.Event()
    server = HTTPServer(("127.0.0.1", 0), _Callback)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with bank.client(company.id, connection.id) as client:
            url = client.start_authorization(f"http://127.0.0.1:{server.server_port}/callback")
            out(f"Authorize bank connection {connection.id} ({company.name}): open this URL and log in to the bank:")
            out(f"  {url}")
            if auto if auto is not None else urlparse(url).hostname in ("127.0.0.1", "localhost"):
                out("  (simulator: completing the consent by itself)")
                httpx.get(url, follow_redirects=True, timeout=30)
            if not _Callback.done.wait(timeout) or not _Callback.code:
                raise SystemExit(f"No authorization code arrived for {connection.id}; nothing was stored.")
            tokens = client.complete_authorization(_Callback.code)
    finally:
        server.shutdown()
    out(
        f"Authorized {connection.id}: consent valid until {tokens.login_expires:%Y-%m-%d %H:%M} UTC; tokens stored "
        f"in {bank.token_store(connection.id).path} (owner-only)."
    )
    return tokens.login_expires


def status(out: Callable[[str], object] = print, settings: Settings | None = None) -> None:
    settings = settings or load_settings()
    config = load_companies(settings.companies_file, require_env=False)
    bank = BankClients.from_settings(settings)
    now = datetime.now(UTC)
    for company, connection in config.bank_connections():
        tokens = bank.token_store(connection.id).load()
        if tokens is None:
            out(f"{connection.id} ({company.id}): never authorized")
        else:
            days = (tokens.login_expires - now).total_seconds() / 86400
            out(f"{connection.id} ({company.id}): consent until {tokens.login_expires:%Y-%m-%d} ({days:.0f} days)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestration.bank")
    sub = parser.add_subparsers(dest="command", required=True)
    auth = sub.add_parser("authorize", help="(re)authorize a bank connection")
    auth.add_argument("connection")
    auth.add_argument("--timeout", type=float, default=600)
    sub.add_parser("status", help="consent expiry of every connection")
    args = parser.parse_args(argv)
    try:
        if args.command == "authorize":
            authorize(args.connection, args.timeout)
        else:
            status()
    except ConnectorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
