"""Faults shared by the simulator apps: scripted ones a test queues, and a seeded random fault mode.

A queued fault is consumed by the next request to the named API: an HTTP status (429, 503, ...)
with an optional Retry-After, or a delay longer than the client's timeout. The fault mode hits a
reproducible share of requests (seeded) with one of: 429 with and without Retry-After, 503, a
connection dropped mid-body, a slow answer, a truncated or malformed body, an access token that
expires mid-run, and (Netvisor) REQUEST_NOT_UNIQUE. `FAULTS.log` records what was injected.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections import Counter, deque
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import JSONResponse, Response


@dataclass(frozen=True)
class Fault:
    status: int = 503
    retry_after: str | None = None
    delay: float = 0.0


KINDS = ("429", "429_retry_after", "503", "drop", "slow", "truncated", "malformed", "token_expired", "not_unique")


@dataclass
class FaultMode:
    rate: float
    seed: int
    kinds: tuple[str, ...] = KINDS
    slow_seconds: float = 2.0
    apis: tuple[str, ...] = ("fennoa", "netvisor", "procountor", "nag")
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)


class FaultQueue:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: dict[str, deque[Fault]] = {}
        self.mode: FaultMode | None = None
        self.log: Counter = Counter()

    def draw(self, api: str) -> str | None:
        """The fault-mode kind for this request, if any (seeded: the same sequence every run)."""
        with self._lock:
            mode = self.mode
            if mode is None or api not in mode.apis or mode.rng.random() >= mode.rate:
                return None
            kinds = [k for k in mode.kinds if k != "not_unique" or api == "netvisor"]
            kind = mode.rng.choice(kinds)
            self.log[(api, kind)] += 1
            return kind

    def push(self, api: str, fault: Fault, count: int = 1) -> None:
        with self._lock:
            self._queues.setdefault(api, deque()).extend([fault] * count)

    def clear(self) -> None:
        with self._lock:
            self._queues.clear()
            self.mode = None

    def queued(self) -> dict[str, int]:
        with self._lock:
            return {api: len(queue) for api, queue in sorted(self._queues.items())}

    def take(self, api: str) -> Fault | None:
        with self._lock:
            queue = self._queues.get(api)
            return queue.popleft() if queue else None

    async def apply(self, api: str) -> Response | None:
        """The response a faulted request gets (queued faults first, then the fault mode), or None."""
        fault = self.take(api)
        if fault is None:
            malformed = (
                b"<Root><ResponseStatus><Status>OK</Status></Respo"
                if api == "netvisor"
                else b'{"status": "OK", "data": [{"broken": '
            )
            return await mode_fault(api, malformed, "text/xml" if api == "netvisor" else "application/json")
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.status == 200:
            return None
        headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
        return JSONResponse(
            {"status": "ERROR", "data": None, "errors": ["simulated fault"]}, status_code=fault.status, headers=headers
        )


FAULTS = FaultQueue()

# Deliberate bad data per (api, company): "unbalanced_voucher", "unknown_account", "no_opening_balances",
# "no_periods" (Fennoa answers an empty fiscal-year list, as a misbehaving server would).
TAMPER: set[tuple[str, str, str]] = set()


def tampered(api: str, company: str, kind: str) -> bool:
    return (api, company, kind) in TAMPER


async def admin_tamper(request: Request) -> Response:
    """POST {"api": "fennoa", "company": "aurora", "kind": "unbalanced_voucher"} or DELETE to clear."""
    if request.method == "DELETE":
        TAMPER.clear()
        return JSONResponse({"cleared": True})
    body = await request.json()
    TAMPER.add((body["api"], body["company"], body["kind"]))
    return JSONResponse({"tampered": body})


async def admin_faults(request: Request) -> Response:
    """POST {"api": "fennoa", "status": 429, "count": 2, "retry_after": "1", "delay": 0} queues faults;
    POST {"mode": {"rate": 0.05, "seed": 7, "kinds": [...], "apis": [...]}} starts the fault mode;
    GET reports what the fault mode injected and how many queued faults are left per API; DELETE clears everything."""
    if request.method == "GET":
        return JSONResponse(
            {
                "injected": [{"api": a, "kind": k, "count": n} for (a, k), n in sorted(FAULTS.log.items())],
                "queued": FAULTS.queued(),
            }
        )
    if request.method == "DELETE":
        FAULTS.clear()
        return JSONResponse({"cleared": True})
    body = await request.json()
    if "mode" in body:
        m = body["mode"]
        FAULTS.mode = FaultMode(
            float(m["rate"]),
            int(m.get("seed", 0)),
            tuple(m.get("kinds", KINDS)),
            float(m.get("slow_seconds", 2.0)),
            tuple(m.get("apis", FaultMode.apis)),
        )
        FAULTS.log.clear()
        return JSONResponse({"mode": m})
    FAULTS.push(
        body["api"],
        Fault(int(body.get("status", 503)), body.get("retry_after"), float(body.get("delay", 0))),
        int(body.get("count", 1)),
    )
    return JSONResponse({"queued": body})


class TruncatedResponse(Response):
    """Promises a longer body than it sends, then drops the connection (a reset mid-transfer)."""

    async def __call__(self, scope, receive, send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")],
            }
        )
        await send({"type": "http.response.body", "body": b'{"status": "OK", "data": [', "more_body": False})


async def mode_fault(api: str, malformed_body: bytes, media_type: str) -> Response | None:
    """A fault-mode response for this request, or None. Token expiry and REQUEST_NOT_UNIQUE are
    handled by the apps themselves (`token_expired`, `not_unique` kinds)."""
    kind = FAULTS.draw(api)
    if kind is None:
        return None
    if kind == "429":
        return JSONResponse({"status": "ERROR", "errors": ["Too Many Requests"]}, status_code=429)
    if kind == "429_retry_after":
        return JSONResponse(
            {"status": "ERROR", "errors": ["Too Many Requests"]}, status_code=429, headers={"Retry-After": "1"}
        )
    if kind == "503":
        return JSONResponse({"status": "ERROR", "errors": ["Service Unavailable"]}, status_code=503)
    if kind == "drop":
        return TruncatedResponse()
    if kind == "slow":
        await asyncio.sleep(FAULTS.mode.slow_seconds if FAULTS.mode else 2.0)
        return None
    if kind in ("truncated", "malformed"):
        body = malformed_body if kind == "malformed" else malformed_body[: len(malformed_body) // 2]
        return Response(body, media_type=media_type)
    return Response(status_code=599, headers={"x-sim-fault": kind})  # token_expired / not_unique marker


def marker(response: Response | None) -> str | None:
    """The fault-mode kind an app must act out itself (token_expired, not_unique), if any."""
    if response is not None and response.status_code == 599:
        return response.headers.get("x-sim-fault")
    return None
