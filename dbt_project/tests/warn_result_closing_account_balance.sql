-- Warning: a result-closing account (account class result_closing, 9999 in the default chart
-- against 2371) holds a balance at a fiscal year's end. The statements leave it out of the year's result
-- (the P&L) and show its counterpart on Edellisten tilikausien voitto, so nothing is counted twice, but
-- the books were closed by entry, which most Finnish ERPs do not need; check the entry is meant.
{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'fct_account_balances_monthly'}}}) }}
select
    b.company_id, b.fiscal_year, b.account_number, b.closing_balance,
    'company ' || b.company_id || ', account ' || b.account_number || ' (result closing): balance '
    || b.closing_balance || ' at the end of fiscal year ' || b.fiscal_year as problem
from {{ ref('fct_account_balances_monthly') }} as b
inner join {{ ref('dim_account') }} as a using (company_id, account_number)
inner join {{ ref('dim_fiscal_period') }} as f using (company_id, fiscal_year)
where a.account_class = 'result_closing' and b.month_start = date_trunc('month', f.end_date) and b.closing_balance <> 0
