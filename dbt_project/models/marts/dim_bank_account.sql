select a.company_id, a.source_system, a.connection_id, a.account_id, a.provider_id, a.name, a.iban, a.currency,
       a.account_type, a.booked_balance, a.available_balance, g.gl_cash_account
from {{ ref('stg_nag__bank_accounts') }} as a
left join {{ ref('int_bank_gl_accounts') }} as g using (company_id, connection_id, account_id)
