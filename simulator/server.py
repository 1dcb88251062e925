"""Serve every API simulator on one loopback port: `python -m simulator serve --port 8765`.

Mounts: /fennoa/api/..., /netvisor/<resource>.nv, /procountor/api/..., /nag/...; /_sim/faults, /_sim/clock for
scripted faults; /_sim/change to edit a Procountor company's books; /_sim/health for readiness.
"""

from __future__ import annotations

import argparse
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from simulator.catalogue import Tenant, demo_tenants, nag_client_credentials
from simulator.faults import admin_faults, admin_tamper
from simulator.fennoa import FennoaSimulator
from simulator.nag import NagSimulator
from simulator.netvisor import NetvisorSimulator
from simulator.procountor import ProcountorSimulator

DEFAULT_PORT = 8765
_NUMBER = re.compile(r"/\d+(?:,\d+)*(?=/|$)")  # an id or a comma list of ids


class BulkResponses:
    """Bulk mode for benchmarks: each successful GET is rendered once and then served from memory.

    A repeated GET of the same path, query and credentials gets the stored bytes before authentication, rate
    limits and faults are looked at, so the server costs about the same per request at any size and
    is not what a benchmark measures. A change of the books (/_sim/change) empties the store.
    `GET /_sim/requests` counts the API requests served by method and path ({id} for numbers),
    `DELETE` resets the count. Never used outside `make bench`.
    """

    def __init__(self, app):
        self.app = app
        self.store: dict[tuple, tuple[int, list, bytes]] = {}
        self.requests: Counter[str] = Counter()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope["path"]
        if path == "/_sim/requests":
            if scope["method"] == "DELETE":
                self.requests.clear()
            return await JSONResponse(dict(self.requests))(scope, receive, send)
        if path.startswith("/_sim"):
            await self.app(scope, receive, send)
            if path == "/_sim/change":
                self.store.clear()
            return None
        self.requests[f"{scope['method']} {_NUMBER.sub('/{id}', path)}"] += 1
        if scope["method"] != "GET":
            return await self.app(scope, receive, send)
        # Who is asking is part of the key: Fennoa, Netvisor and Procountor name the company in headers.
        identity = tuple(
            v.split(b".")[0] if v.startswith(b"Bearer ") else v
            for k, v in scope["headers"]
            if k in (b"authorization", b"x-netvisor-authentication-customerid")
        )
        key = (scope["path"], scope["query_string"], identity)
        hit = self.store.get(key)
        if hit is not None:
            status, headers, body = hit
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return None
        start: dict = {}
        chunks: list[bytes] = []

        async def capture(message):
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                body = b"".join(chunks)
                # Netvisor answers failures with HTTP 200 and <Status>FAILED: those are not kept
                if not message.get("more_body") and start.get("status") == 200 and b">FAILED<" not in body:
                    self.store[key] = (200, start.get("headers", []), body)
            await send(message)

        await self.app(scope, receive, capture)
        return None


def build_app(
    tenants: list[Tenant] | None = None,
    fennoa_max_active: int = 100,
    netvisor_latency: float = 0.0,
    procountor_token_lifetime: float = 3600.0,
    procountor_rate: int = 20,
    bulk: bool = False,
):
    tenants = demo_tenants() if tenants is None else tenants
    fennoa = FennoaSimulator(tenants, max_active=fennoa_max_active)
    netvisor = NetvisorSimulator(tenants, latency=netvisor_latency)
    procountor = ProcountorSimulator(tenants, token_lifetime=procountor_token_lifetime, rate_per_second=procountor_rate)
    nag = NagSimulator(tenants, *nag_client_credentials())

    async def health(_request):
        return JSONResponse({"status": "ok"})

    app = Starlette(
        routes=[
            Route("/_sim/health", health),
            Route("/_sim/faults", admin_faults, methods=["GET", "POST", "DELETE"]),
            Route("/_sim/tamper", admin_tamper, methods=["POST", "DELETE"]),
            Route("/_sim/change", procountor.admin_change, methods=["POST"]),
            Mount("/fennoa/api", app=fennoa.app()),
            Mount("/netvisor", app=netvisor.app()),
            Mount("/procountor/api", app=procountor.app()),
            Route("/_sim/clock", nag.admin_clock, methods=["GET", "POST"]),
            Mount("/nag", app=nag.app()),
        ]
    )
    app.state.simulators = {"fennoa": fennoa, "netvisor": netvisor, "procountor": procountor, "nag": nag}
    return BulkResponses(app) if bulk else app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve_in_thread(port: int | None = None, app=None, **app_kwargs) -> Iterator[str]:
    """Run the simulator (or a prebuilt `app`) on loopback in a background thread; yields its base URL."""
    port = port or free_port()
    config = uvicorn.Config(
        app or build_app(**app_kwargs), host="127.0.0.1", port=port, log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="simulator", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"simulator did not start on 127.0.0.1:{port}")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m simulator")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve all API simulators on loopback")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT)
    args = parser.parse_args(argv)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        parser.error("the simulator only listens on loopback")
    uvicorn.run(build_app(), host=args.host, port=args.port, log_level="info")
