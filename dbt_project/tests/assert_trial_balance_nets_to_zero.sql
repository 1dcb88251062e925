-- Per company and month, the closing balances of all accounts sum to zero. For books the ERP never
-- closed (a year without an opening voucher), the earlier years' results, which stay on the P&L
-- accounts of those years, are the only difference allowed.
{{ config(meta={'dagster': {'ref': {'name': 'fct_account_balances_monthly'}}}) }}
with balances as (
    select company_id, fiscal_year, month_start, any_value(bs_group) as bs_group, sum(closing_balance) as total
    from {{ ref('fct_account_balances_monthly') }}
    group by all
),

unclosed as (
    select b.company_id, b.fiscal_year, b.month_start, b.total, coalesce(sum(r.result), 0) as prior_results
    from balances as b
    left join {{ ref('int_fiscal_year_results') }} as r
        on b.company_id = r.company_id and b.bs_group = r.bs_group and b.fiscal_year > r.fiscal_year
    group by all
)

select company_id, fiscal_year, month_start, total - prior_results as imbalance
from unclosed
where total <> prior_results
