-- Procountor's posted GL lines: transactions of official receipts, the VAT lines the connector derived included.
-- Each dimension item carries the amount split to it (dimensionItemValues' value, signed debit positive
-- like the line). Parquet written before the connector kept that value reads it as null: the only item
-- of its type on the line then holds the whole line (a type's splits sum to the line), while several
-- items of one type stay null, unknown (rpt_pl_by_dimension leaves them unallocated and
-- warn_dimension_splits_sum_to_line names the line).
select
    company_id,
    'procountor' as source_system,
    fiscal_year,
    receipt_id as voucher_id,
    receipt_number as voucher_number,
    receipt_type as voucher_type,
    line_number,
    -- The raw ledger keeps no id of a transaction (receipt id and the connector's line position only,
    -- and the VAT lines the connector derived have none): null.
    cast(null as varchar) as line_key,
    receipt_date as entry_date,
    account_number,
    coalesce(description, name) as description,
    {{ money('greatest(amount, 0)') }} as debit,
    {{ money('greatest(-amount, 0)') }} as credit,
    case when vat_percent <> 0 then vat_type || ' ' || cast(vat_percent as varchar) end as vat_code,
    list_transform(
        dimensions,
        d -> {
            'dimension_type': d.dimension_id,
            'item_code': d.item_id,
            'amount': cast(
                coalesce(
                    d.amount,
                    case when len(list_filter(dimensions, e -> e.dimension_id = d.dimension_id)) = 1 then amount end
                ) as decimal(18, 2)
            )
        }
    ) as dimensions,
    receipt_type in ('RECEIPT_FOR_OPENING_ACCOUNTS', 'TRACKING_PERIOD_OPENING_RECEIPT') as is_opening_balance
from {{ lake_scan('procountor', 'ledger') }}
where is_official and line_number is not null
