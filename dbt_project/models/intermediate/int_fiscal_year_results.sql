-- Each fiscal year's result (credit minus debit of P&L accounts) and its carry-forward group.
with last_month as (
    select
        company_id,
        fiscal_year,
        max(month_start) as month_start,
        any_value(bs_group) as bs_group
    from {{ ref('int_account_balances_monthly') }}
    group by all
)

select
    l.company_id,
    l.fiscal_year,
    l.bs_group,
    coalesce(-sum(b.closing_balance) filter (where b.statement = 'PL'), 0) as result
from last_month as l
left join {{ ref('int_account_balances_monthly') }} as b
    on l.company_id = b.company_id and l.fiscal_year = b.fiscal_year and l.month_start = b.month_start
group by all
