-- Our closing balance against the balance the ERP itself reports, per account at each fiscal-year end.
with reported as (
    select * from {{ ref('stg_fennoa__account_balances') }}
    union all by name
    select * from {{ ref('stg_netvisor__account_balances') }}
    union all by name
    select * from {{ ref('stg_procountor__account_balances') }}
),
ours as (
    select b.company_id, b.source_system, b.fiscal_year, b.account_number, f.end_date as balance_date,
           b.closing_balance
    from {{ ref('fct_account_balances_monthly') }} as b
    join {{ ref('int_fiscal_periods') }} as f using (company_id, fiscal_year)
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
full outer join reported as r
    on r.company_id = o.company_id and r.fiscal_year = o.fiscal_year and r.account_number = o.account_number
    and r.balance_date = o.balance_date
