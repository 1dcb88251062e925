"""The registry of source connectors: every ERP spec and bank-aggregator spec the pipeline knows.

Adding an ERP is one connector module exporting `SPEC` and one line here; companies validation,
the Dagster resources, assets, jobs and schedules all read this registry.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from connectors import fennoa, nag, netvisor, procountor
from connectors.spec import AggregatorSpec, ErpSpec

_ERPS: dict[str, ErpSpec] = {spec.name: spec for spec in (fennoa.SPEC, netvisor.SPEC, procountor.SPEC)}
_AGGREGATORS: dict[str, AggregatorSpec] = {spec.name: spec for spec in (nag.SPEC,)}


def erp_names() -> list[str]:
    return sorted(_ERPS)


def erp(name: str) -> ErpSpec:
    try:
        return _ERPS[name]
    except KeyError:
        raise KeyError(f"no connector for ERP {name!r} (known: {', '.join(erp_names())})") from None


def aggregator_names() -> list[str]:
    return sorted(_AGGREGATORS)


def aggregator(name: str) -> AggregatorSpec:
    try:
        return _AGGREGATORS[name]
    except KeyError:
        raise KeyError(f"no bank aggregator {name!r} (known: {', '.join(aggregator_names())})") from None


@contextmanager
def registered(spec: ErpSpec) -> Iterator[ErpSpec]:
    """Register an ERP spec for the duration of a block (tests, plugins tried out in a notebook)."""
    if spec.name in _ERPS:
        raise ValueError(f"an ERP named {spec.name!r} is already registered")
    _ERPS[spec.name] = spec
    try:
        yield spec
    finally:
        del _ERPS[spec.name]
