select
    company_id,
    source_system,
    fiscal_year,
    account_number,
    month_start,
    month_end,
    month_of_fiscal_year,
    opening_balance,
    debit,
    credit,
    net,
    closing_balance,
    bs_group
from {{ ref('int_account_balances_monthly') }}
