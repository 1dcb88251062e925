-- Per company and month, the closing balances of all accounts sum to zero.
select company_id, fiscal_year, month_start, sum(closing_balance) as imbalance
from {{ ref('fct_account_balances_monthly') }}
group by all
having sum(closing_balance) <> 0
