"""The extract-asset factory: one partitioned asset per endpoint of an ERP spec, writing hive Parquet.

A run may cover many partitions (single-run backfill policy): the asset walks its partition keys
company by company, rewrites each partition atomically (read in full, or on incremental runs from
the ERP's changes where the endpoint can), and reports rows, requests, how it was read, the fiscal
year's real dates and the path per partition, and any optional API resource the endpoint's spec
names that the client had to do without (`degraded`, also a warning in the run's log).
"""

import itertools
from collections import defaultdict
from collections.abc import Iterator

import dagster as dg

from assets.extract.incremental import INCREMENTAL, REFRESH_TAG, merged, plan
from assets.lake import (
    ACCEPT_TAG,
    VolumeDropError,
    VolumeGuard,
    accepted_keys,
    is_accepted,
)
from assets.partitions import group_name, run_partition_keys, split_key
from assets.resources import ErpClients, Lake
from connectors.errors import ConnectorError
from connectors.fiscal import periods_for_key
from connectors.spec import Endpoint, ErpClient, degradations


def _table_schema(endpoint: Endpoint) -> dg.TableSchema:
    return dg.TableSchema(columns=[dg.TableColumn(f.name, str(f.type)) for f in endpoint.schema])


def build_extract_asset(endpoint: Endpoint, partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    @dg.asset(
        key=dg.AssetKey(["raw", endpoint.source, endpoint.name]),
        group_name=group_name(endpoint.source, endpoint.scope),
        description=endpoint.description,
        partitions_def=partitions_def,
        backfill_policy=dg.BackfillPolicy.single_run(),
        output_required=False,  # materialized partition by partition (below), never as one output
        pool=f"{endpoint.source}_api",
        kinds={"python", "parquet"},
        metadata={"dagster/column_schema": _table_schema(endpoint), "scope": endpoint.scope},
    )
    def _extract(context: dg.AssetExecutionContext, erp: ErpClients, lake: Lake) -> Iterator[dg.AssetMaterialization]:
        by_company: dict[str, list[str | None]] = defaultdict(list)
        keys: dict[tuple[str, str | None], str] = {}
        for key in run_partition_keys(context):
            company, fiscal_year = split_key(
                partitions_def.get_partition_key_from_str(key)
                if isinstance(partitions_def, dg.MultiPartitionsDefinition)
                else key
            )
            by_company[company].append(fiscal_year)
            keys[company, fiscal_year] = key

        results: list[dict] = []
        failures: list[str] = []
        # One materialization per partition, yielded as soon as it is written: the run shows its progress, and
        # a run that dies later still records what it wrote. Each carries that partition's own rows, requests
        # and dates (a single-run backfill would otherwise stamp the run's total on every partition). A
        # fiscal-year key the company has no fiscal year for is not materialized; a failed company's
        # partitions not yet written are not.
        for company, years in sorted(by_company.items()):
            try:
                for r in _extract_company(context, endpoint, erp, lake, company, years, failures):
                    results.append(r)
                    if r["mode"] != "none":
                        yield dg.AssetMaterialization(
                            asset_key=context.asset_key,
                            partition=keys[r["company"], r["fiscal_year"]],
                            metadata={"dagster/row_count": r["rows"], **{k: v for k, v in r.items() if v is not None}},
                        )
            except ConnectorError as exc:
                context.log.error(str(exc))
                failures.append(str(exc))
        context.log.info(
            f"{endpoint.source}/{endpoint.name}: {len(results)} partitions, "
            f"{sum(r['rows'] for r in results)} rows, {sum(r['requests'] for r in results)} requests\n"
            + _markdown(results)
        )
        if failures:
            raise dg.Failure(
                description=f"{endpoint.source}/{endpoint.name}: {len(failures)} failure(s) over "
                f"{len(by_company)} companies; every other partition was written:\n" + "\n".join(failures),
                metadata={"written_partitions": len(results)},
            )

    return _extract


def _extract_company(
    context: dg.AssetExecutionContext,
    endpoint: Endpoint,
    erp: ErpClients,
    lake: Lake,
    company: str,
    years: list[str | None],
    refused: list[str],
) -> Iterator[dict]:
    """Extract the company's partitions, yielding each one's result as soon as it is written and appending
    each partition the volume guard kept to `refused`; a connector error stops the company."""
    incremental_run = context.run.tags.get(REFRESH_TAG) == INCREMENTAL
    accepted = accepted_keys(context.run.tags.get(ACCEPT_TAG))
    with erp.client(company) as client:
        for fiscal_year in years:
            try:
                yield _extract_partition(
                    context, endpoint, lake, client, company, fiscal_year, incremental_run, accepted
                )
            except VolumeDropError as exc:
                context.log.error(str(exc))
                refused.append(str(exc))


def _extract_partition(
    context: dg.AssetExecutionContext,
    endpoint: Endpoint,
    lake: Lake,
    client: ErpClient,
    company: str,
    fiscal_year: str | None,
    incremental_run: bool,
    accepted: frozenset[str],
) -> dict:
    store = lake.store
    directory = store.partition(endpoint.source, endpoint.name, company, fiscal_year)
    guard = VolumeGuard(
        store.url,
        endpoint.source,
        endpoint.name,
        company,
        fiscal_year,
        accepted=is_accepted(accepted, company, fiscal_year),
        max_shrink=lake.max_shrink,
    )
    if fiscal_year is None:
        pages_before = client.pages_fetched
        written = store.write(directory, endpoint.schema, endpoint.fetch(client), guard, lake.modes)
        start = end = None
        mode = "full"
    else:
        periods = periods_for_key(client.fiscal_periods(), fiscal_year)
        if not periods:
            removed = store.remove(directory, guard)
            context.log.info(
                f"{endpoint.source} company '{company}': no fiscal year ends in "
                f"{fiscal_year}; nothing to extract" + (" (old partition removed)" if removed else "")
            )
            return {
                "company": company,
                "fiscal_year": fiscal_year,
                "rows": 0,
                "requests": 0,
                "fiscal_year_start": None,
                "fiscal_year_end": None,
                "path": None,
                "mode": "none",
                "degraded": None,
            }
        pages_before = client.pages_fetched
        incremental = endpoint.incremental if incremental_run else None
        how = plan(store.open_stored(directory), endpoint.schema, incremental, periods) if incremental else None
        if incremental is not None and how is not None and how.since is not None:
            stale, fresh = incremental.changes(client, periods, how.since)
            stored = store.open_stored(directory)
            assert stored is not None  # plan() found it
            batches = merged(stored, incremental.key, stale, fresh)
            mode = f"incremental: {len(stale)} changed since {how.since}"
        else:
            batches = itertools.chain.from_iterable(endpoint.fetch(client, p) for p in periods)
            mode = "full" + (f" ({how.reason})" if how is not None else "")
        written = store.write(directory, endpoint.schema, batches, guard, lake.modes)
        start, end = periods[0].start.isoformat(), periods[-1].end.isoformat()
    degraded = _degraded(endpoint, client)
    for what in degraded:
        context.log.warning(
            f"{endpoint.source}/{endpoint.name} company '{company}'"
            + (f" fiscal year {fiscal_year}" if fiscal_year else "")
            + f" read without an optional resource: {what}"
        )
    # no log line per partition: its materialization carries the same, and the step ends with the table of all
    return {
        "company": company,
        "fiscal_year": fiscal_year,
        "rows": written.rows,
        "requests": client.pages_fetched - pages_before,
        "fiscal_year_start": start,
        "fiscal_year_end": end,
        "path": str(written.path),
        "mode": mode,
        "degraded": "; ".join(degraded) or None,
    }


def _degraded(endpoint: Endpoint, client: ErpClient) -> list[str]:
    """The optional resources of this endpoint its client did without (so far: the client lives for
    one company, and what it cached without a resource still lacks it), each with what is lost."""
    found: dict[str, str] = {}
    for d in degradations(client):
        if d.resource in endpoint.optional_resources and d.resource not in found:
            found[d.resource] = f"{d.resource} unavailable ({d.cause}); lost: {endpoint.optional_resources[d.resource]}"
    return list(found.values())


def _markdown(results: list[dict]) -> str:
    lines = ["| company | fiscal year | start | end | read | rows | requests |", "|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(
            f"| {r['company']} | {r['fiscal_year'] or ''} | {r['fiscal_year_start'] or ''} | "
            f"{r['fiscal_year_end'] or ''} | {r['mode']} | {r['rows']} | {r['requests']} |"
        )
    return "\n".join(lines)
