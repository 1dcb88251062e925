-- One row per posted ledger row. Fennoa's ledger holds only posted statements, so every row is valid.
select
    l.company_id,
    'fennoa' as source_system,
    l.fiscal_year,
    l.statement_id as voucher_id,
    cast(l.statement_number as varchar) as voucher_number,
    l.series as voucher_type,
    l.line_number,
    l.entry_date,
    l.account_number,
    l.description,
    {{ money('l.debit') }} as debit,
    {{ money('l.credit') }} as credit,
    a.vat_code,
    -- Fennoa gives no split amounts: each item holds the whole line (debit - credit).
    list_transform(
        l.dimensions,
        d -> {'dimension_type': d.type_id, 'item_code': d.item_code, 'amount': {{ money('l.debit - l.credit') }}}
    ) as dimensions,
    false as is_opening_balance
from {{ lake_scan('fennoa', 'ledger') }} as l
left join {{ ref('stg_fennoa__accounts') }} as a
    on l.company_id = a.company_id and l.account_number = a.account_number
