-- One row per booked or pending bank transaction as the bank reports it at the last sync.
select company_id, source_system, fiscal_year, connection_id, account_id, transaction_id, booking_date,
       state, state = 'Booked' as is_booked, amount, currency, balance_after, text, type
from {{ ref('stg_nag__bank_transactions') }}
