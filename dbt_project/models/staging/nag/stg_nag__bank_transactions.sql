select company_id, 'nordic_api_gateway' as source_system, fiscal_year, connection_id, account_id, transaction_id,
       booking_date, state, {{ money('amount') }} as amount, currency, {{ money('balance') }} as balance_after,
       text, type
from {{ lake_scan('nag', 'bank_transactions', {
    'company_id': 'varchar', 'fiscal_year': 'integer', 'connection_id': 'varchar', 'account_id': 'varchar',
    'transaction_id': 'varchar', 'booking_date': 'date', 'state': 'varchar', 'amount': 'decimal(18,2)',
    'currency': 'varchar', 'balance': 'decimal(18,2)', 'text': 'varchar', 'type': 'varchar'}) }}
