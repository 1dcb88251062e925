-- Every voucher line posts to an account in the company's chart of accounts.
{{ config(meta={'dagster': {'ref': {'name': 'fct_gl_entries'}}}) }}
select g.company_id, g.voucher_id, g.line_number, g.account_number,
       'company ' || g.company_id || ', voucher ' || g.voucher_id || ' (number ' || coalesce(g.voucher_number, '?')
           || '): account ' || g.account_number || ' is not in the chart of accounts' as problem
from {{ ref('fct_gl_entries') }} as g
inner join {{ ref('dim_account') }} as a using (company_id, account_number)
where not a.in_chart_of_accounts
