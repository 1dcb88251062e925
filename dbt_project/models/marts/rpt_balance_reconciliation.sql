with ours as (
    select
        b.company_id,
        b.source_system,
        b.fiscal_year,
        b.account_number,
        f.end_date as balance_date,
        b.closing_balance
    from {{ ref('int_account_balances_monthly') }} as b
    inner join {{ ref('int_fiscal_periods') }} as f
        on b.company_id = f.company_id and b.fiscal_year = f.fiscal_year
    where b.month_start = date_trunc('month', f.end_date)
)

select
    coalesce(o.company_id, r.company_id) as company_id,
    coalesce(o.source_system, r.source_system) as source_system,
    coalesce(o.fiscal_year, r.fiscal_year) as fiscal_year,
    coalesce(o.account_number, r.account_number) as account_number,
    coalesce(o.balance_date, r.balance_date) as balance_date,
    {{ money('coalesce(o.closing_balance, 0)') }} as our_balance,
    {{ money('coalesce(r.reported_balance, 0)') }} as erp_balance,
    {{ money('coalesce(o.closing_balance, 0) - coalesce(r.reported_balance, 0)') }} as difference,
    r.company_id is not null as erp_reported
from ours as o
full outer join {{ ref('int_reported_balances') }} as r
    on
        o.company_id = r.company_id
        and o.fiscal_year = r.fiscal_year
        and o.account_number = r.account_number
        and o.balance_date = r.balance_date
