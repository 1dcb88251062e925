"""Scripted faults shared by the simulator apps: a test queues them, the next requests get them.

A fault is consumed by one request to the named API. Kinds: an HTTP status (429, 503, ...) with
an optional Retry-After, or a delay longer than the client's timeout.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse, Response


@dataclass(frozen=True)
class Fault:
    status: int = 503
    retry_after: str | None = None
    delay: float = 0.0


class FaultQueue:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: dict[str, deque[Fault]] = {}

    def push(self, api: str, fault: Fault, count: int = 1) -> None:
        with self._lock:
            self._queues.setdefault(api, deque()).extend([fault] * count)

    def clear(self) -> None:
        with self._lock:
            self._queues.clear()

    def take(self, api: str) -> Fault | None:
        with self._lock:
            queue = self._queues.get(api)
            return queue.popleft() if queue else None

    async def apply(self, api: str) -> Response | None:
        """The response a faulted request gets, or None to serve it normally."""
        fault = self.take(api)
        if fault is None:
            return None
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.status == 200:
            return None
        headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
        return JSONResponse({"status": "ERROR", "data": None, "errors": ["simulated fault"]},
                            status_code=fault.status, headers=headers)


FAULTS = FaultQueue()

# Deliberate bad data per (api, company): "unbalanced_voucher", "no_opening_balances".
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
    """POST {"api": "fennoa", "status": 429, "count": 2, "retry_after": "1", "delay": 0} or DELETE."""
    if request.method == "DELETE":
        FAULTS.clear()
        return JSONResponse({"cleared": True})
    body = await request.json()
    FAULTS.push(body["api"], Fault(int(body.get("status", 503)), body.get("retry_after"),
                                   float(body.get("delay", 0))), int(body.get("count", 1)))
    return JSONResponse({"queued": body})
