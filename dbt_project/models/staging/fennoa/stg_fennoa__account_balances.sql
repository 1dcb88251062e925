-- Balances Fennoa itself reports at each fiscal year's end (for reconciliation).
select
    company_id,
    'fennoa' as source_system,
    fiscal_year,
    account_number,
    balance_date,
    {{ money('debit - credit') }} as reported_balance
from {{ lake_scan('fennoa', 'account_balances', {
    'company_id': 'varchar', 'fiscal_year': 'integer', 'account_number': 'varchar', 'balance_date': 'date',
    'debit': 'decimal(18,2)', 'credit': 'decimal(18,2)'}) }}
