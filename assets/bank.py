"""Bank data assets: accounts per company and transactions per company x fiscal year.

Each transactions sync re-reads from `overlap_days` (at least 7) before the newest transaction
already stored, replaces everything from that date on with what the bank reports now (so pending
transactions that were booked, changed or dropped are reflected exactly) and keeps the older rows.
The partition is then rewritten atomically.
"""

from datetime import timedelta

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc

from assets.lake import (
    ACCEPT_TAG,
    VolumeDropError,
    VolumeGuard,
    accepted_keys,
    is_accepted,
)
from assets.partitions import group_name, run_partition_keys, split_key
from assets.resources import BankClients, ErpClients, Lake
from connectors.bank import SCHEMAS, ConsentExpiredError
from connectors.companies import CompaniesConfig
from connectors.fiscal import periods_for_key

SOURCE = "nag"


def _guard(
    context: dg.AssetExecutionContext, lake: Lake, endpoint: str, company: str, fiscal_year: str | None
) -> VolumeGuard:
    accepted = is_accepted(accepted_keys(context.run.tags.get(ACCEPT_TAG)), company, fiscal_year)
    return VolumeGuard(lake.store.url, SOURCE, endpoint, company, fiscal_year, accepted, lake.max_shrink)


def merge_sync(existing: pa.Table | None, fresh: pa.Table, account_id: str, since) -> pa.Table:
    """Keep stored rows of the account dated before `since`; take the bank's current rows from then on."""
    if existing is None or existing.num_rows == 0:
        return fresh
    other = pc.not_equal(existing["account_id"], account_id)
    older = pc.and_(pc.equal(existing["account_id"], account_id), pc.less(existing["booking_date"], pa.scalar(since)))
    return pa.concat_tables([existing.filter(pc.or_(other, older)), fresh])


def sync_start(existing: pa.Table | None, account_id: str, window_start, overlap_days: int):
    """Re-read from `overlap_days` before the newest stored transaction of the account (or from the start)."""
    if existing is None or existing.num_rows == 0:
        return window_start
    dates = existing.filter(pc.equal(existing["account_id"], account_id))["booking_date"]
    if len(dates) == 0:
        return window_start
    newest = pc.max(dates).as_py()
    return max(window_start, newest - timedelta(days=overlap_days))


def build_bank_assets(
    config: CompaniesConfig, by_company: dg.PartitionsDefinition, by_year: dg.MultiPartitionsDefinition
) -> list[dg.AssetsDefinition]:
    overlap = config.bank.overlap_days

    @dg.asset(
        key=dg.AssetKey(["raw", SOURCE, "bank_accounts"]),
        group_name=group_name("bank", "company"),
        partitions_def=by_company,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool="nag_api",
        kinds={"python", "parquet"},
        description="Bank accounts of every connection of the company (NAG /v2/accounts).",
    )
    def bank_accounts(context: dg.AssetExecutionContext, bank: BankClients, lake: Lake) -> dg.MaterializeResult:
        rows, problems = 0, []
        for company in run_partition_keys(context):
            _, connections = bank.connections(company)
            batches: list[pa.RecordBatch] = []
            failed = False
            for connection in connections:
                try:
                    with bank.client(company, connection.id) as client:
                        batches.extend(client.accounts())
                except ConsentExpiredError as exc:
                    problems.append(str(exc))
                    failed = True
            if failed:
                continue  # keep the stored accounts rather than drop a connection that could not be read
            try:
                store = lake.store
                written = store.write(
                    store.partition(SOURCE, "bank_accounts", company, None),
                    SCHEMAS["bank_accounts"],
                    batches,
                    _guard(context, lake, "bank_accounts", company, None),
                    modes=lake.modes,
                )
            except VolumeDropError as exc:
                problems.append(str(exc))
                continue
            rows += written.rows
        if problems:
            raise dg.Failure("Bank data needs attention:\n" + "\n".join(problems))
        return dg.MaterializeResult(metadata={"dagster/row_count": rows})

    @dg.asset(
        key=dg.AssetKey(["raw", SOURCE, "bank_transactions"]),
        group_name=group_name("bank", "fiscal_year"),
        partitions_def=by_year,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool="nag_api",
        kinds={"python", "parquet"},
        description="Booked and pending bank transactions per company and fiscal year, re-read with a "
        f"{overlap}-day overlap; transactions the bank no longer reports are removed.",
    )
    def bank_transactions(
        context: dg.AssetExecutionContext, bank: BankClients, erp: ErpClients, lake: Lake
    ) -> dg.MaterializeResult:
        problems, report = [], []
        by_company: dict[str, list[str]] = {}
        for key in run_partition_keys(context):
            company, year = split_key(by_year.get_partition_key_from_str(key))
            if year is not None:  # always set: the partitions are company x fiscal year
                by_company.setdefault(company, []).append(year)
        for company, years in sorted(by_company.items()):
            with erp.client(company) as erp_client:
                periods = erp_client.fiscal_periods()
            _, connections = bank.connections(company)
            account_ids: dict[str, list[str]] = {}  # per connection, fetched once per run
            for year in years:
                matching = periods_for_key(periods, year)
                store = lake.store
                directory = store.partition(SOURCE, "bank_transactions", company, year)
                if not matching:
                    continue
                start, end = matching[0].start, matching[-1].end
                stored = store.open_stored(directory)
                existing = stored.read() if stored is not None else None
                table = existing
                for connection in connections:
                    try:
                        with bank.client(company, connection.id) as client:
                            if connection.id not in account_ids:
                                accounts = pa.Table.from_batches(
                                    list(client.accounts()), schema=SCHEMAS["bank_accounts"]
                                )
                                account_ids[connection.id] = accounts["account_id"].to_pylist()
                            for account_id in account_ids[connection.id]:
                                since = sync_start(table, account_id, start, overlap)
                                fresh = pa.Table.from_batches(
                                    list(client.transactions(account_id, since, end, int(year))),
                                    schema=SCHEMAS["bank_transactions"],
                                )
                                table = merge_sync(table, fresh, account_id, since)
                                report.append(
                                    f"| {company} | {year} | {connection.id} | {account_id} | {since} | {fresh.num_rows} |"
                                )
                    except ConsentExpiredError as exc:
                        problems.append(str(exc))
                if table is not None:
                    table = table.sort_by(
                        [("account_id", "ascending"), ("booking_date", "ascending"), ("transaction_id", "ascending")]
                    )
                    try:
                        store.write(
                            directory,
                            SCHEMAS["bank_transactions"],
                            table.to_batches(),
                            _guard(context, lake, "bank_transactions", company, year),
                            modes=lake.modes,
                        )
                    except VolumeDropError as exc:
                        problems.append(str(exc))
        if problems:
            raise dg.Failure("Bank data needs attention:\n" + "\n".join(problems))
        return dg.MaterializeResult(
            metadata={
                "synced": dg.MetadataValue.md(
                    "| company | fiscal year | connection | account | re-read from | rows |\n|---|---|---|---|---|---|\n"
                    + "\n".join(report)
                )
            }
        )

    return [bank_accounts, bank_transactions]
