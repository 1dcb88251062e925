select company_id, 'netvisor' as source_system, fiscal_year, account_number, balance_date,
       {{ money('debit - credit') }} as reported_balance
from {{ lake_scan('netvisor', 'account_balances', {
    'company_id': 'varchar', 'fiscal_year': 'integer', 'account_number': 'varchar', 'balance_date': 'date',
    'debit': 'decimal(18,2)', 'credit': 'decimal(18,2)'}) }}
