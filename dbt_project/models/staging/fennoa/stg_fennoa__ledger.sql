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
    list_transform(l.dimensions, d -> {'dimension_type': d.type_id, 'item_code': d.item_code}) as dimensions,
    false as is_opening_balance
from {{ lake_scan('fennoa', 'ledger', {
    'company_id': 'varchar', 'fiscal_year': 'integer', 'statement_id': 'varchar', 'statement_number': 'bigint',
    'series': 'varchar', 'line_number': 'integer', 'entry_date': 'date', 'account_number': 'varchar',
    'description': 'varchar', 'debit': 'decimal(18,2)', 'credit': 'decimal(18,2)',
    'dimensions': 'struct(type_id varchar, item_code varchar)[]'}) }} as l
left join {{ ref('stg_fennoa__accounts') }} as a
    on a.company_id = l.company_id and a.account_number = l.account_number
