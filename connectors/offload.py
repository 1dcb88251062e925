"""Decode large ledger pages in worker processes, so fetching and decoding use different cores.

Fetching stays in the calling process (rate limits, Netvisor's one request at a time, retries);
only pure bytes-to-Arrow work is sent to the workers. Small inputs are decoded in place: starting
a worker costs more than a small company's whole ledger.
"""

from __future__ import annotations

import atexit
import gc
import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar, TypeVarTuple

from connectors.errors import TransientError
from connectors.redact import redact

WORKERS_ENV = "NORDLEDGER_DECODE_WORKERS"

_pool: ProcessPoolExecutor | None = None
_pool_size = 0
_pool_up: Future[int] | None = None  # done once the pool's first worker has started
_pool_guard = threading.Lock()

T = TypeVar("T")
Ts = TypeVarTuple("Ts")


MAX_DEFAULT_WORKERS = 2


def configured() -> int | None:
    """NORDLEDGER_DECODE_WORKERS as a number, or None where it is not set."""
    value = os.environ.get(WORKERS_ENV, "").strip()
    if not value:
        return None
    try:
        return max(0, int(value))
    except ValueError:
        raise ValueError(f"{WORKERS_ENV} must be a whole number, got {value!r}") from None


def worker_count() -> int:
    """Worker processes for decoding: NORDLEDGER_DECODE_WORKERS, else one per core beyond the first,
    up to MAX_DEFAULT_WORKERS; 0 = none.

    The first core is left to the calling process, which fetches, unpickles and writes Parquet. On
    two cores a second worker measured no faster (the three processes share two cores) and costs
    about 140 MB more at peak (bench, Netvisor M: 486 MB with two workers, 345 MB with one).
    """
    chosen = configured()
    if chosen is not None:
        return chosen
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(0, min(MAX_DEFAULT_WORKERS, cores - 1))


def _shared_pool() -> ProcessPoolExecutor | None:
    global _pool, _pool_size, _pool_up
    with _pool_guard:
        if _pool is None and worker_count():
            _pool_size = worker_count()
            # spawn, not fork: the caller has HTTP threads and locks that a forked child would inherit.
            _pool = ProcessPoolExecutor(_pool_size, mp_context=multiprocessing.get_context("spawn"))
            _pool_up = _pool.submit(int)
        return _pool


def starting() -> Future[int] | None:
    """Start the workers unless they run; a Future done once one is up (None where none are configured).

    A worker's start (a fresh interpreter importing pyarrow) costs more than several chunks of
    decoding: callers decode in place until it is done rather than wait for it."""
    return _pool_up if _shared_pool() is not None else None


def ready() -> bool:
    """Start the workers unless they run (`starting`); whether one is up to take work now."""
    up = starting()
    return up is not None and up.done()


def shutdown(wait: bool = True) -> int:
    """Stop the workers (a later `submit` starts new ones); returns how many there were."""
    global _pool
    with _pool_guard:
        pool, workers, _pool = _pool, _pool_size, None
    if pool is None:
        return 0
    pool.shutdown(wait=wait, cancel_futures=True)
    return workers


atexit.register(shutdown, wait=False)


def submit(fn: Callable[[*Ts], T], *args: *Ts, offload: bool) -> Future[T]:
    """Run `fn(*args)` in a worker when `offload` and workers are configured, else here and now.

    Either way the caller gets a Future, so it can keep results in order with one code path. `fn`
    and its arguments must be picklable (a module-level function and plain data).
    """
    pool = _shared_pool() if offload else None
    if pool is not None:
        try:
            return pool.submit(without_cycle_collection, fn, *args)
        except BrokenProcessPool:  # a worker died (e.g. killed for memory): start afresh once
            shutdown(wait=False)
            pool = _shared_pool()
            if pool is not None:
                return pool.submit(without_cycle_collection, fn, *args)
    future: Future[T] = Future()
    try:
        future.set_result(without_cycle_collection(fn, *args))
    except Exception as exc:
        future.set_exception(exc)
    return future


def without_cycle_collection(fn: Callable[..., T], *args: object) -> T:
    # Decoding allocates millions of short-lived objects that reference counting frees; the cyclic
    # collector only re-scans them (about a sixth of a worker's CPU). In the calling process the
    # collector is only paused for the call (a cycle made meanwhile by another thread waits for
    # the next collection), and left off if it was off.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return fn(*args)
    finally:
        if was_enabled:
            gc.enable()


def result(future: Future[T], source: str, company: str, endpoint: str) -> T:
    """The decoded value; a worker that died (killed, out of memory) is an error naming what it decoded."""
    try:
        return future.result()
    except BrokenProcessPool:
        shutdown(wait=False)
        raise TransientError(
            source,
            company,
            endpoint,
            "a decode worker process stopped unexpectedly (killed, or out of memory); nothing was written, run again",
        ) from None
    except BaseException as exc:
        _mask_remote_traceback(exc)
        raise


class WorkerTraceback(Exception):  # noqa: N818 - text standing in for a traceback, not an error
    """The traceback of an exception raised in a decode worker, as text, secrets masked."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def _mask_remote_traceback(exc: BaseException) -> None:
    # concurrent.futures attaches the worker's formatted traceback as the exception's __cause__; it
    # quotes the message as the worker built it, where this process's secrets were not registered
    # (the exception itself was rebuilt here by ConnectorError.__reduce__, and masked on the way).
    cause = exc.__cause__
    if cause is not None and type(cause).__name__ == "_RemoteTraceback":
        exc.__cause__ = WorkerTraceback(redact(str(cause)))
