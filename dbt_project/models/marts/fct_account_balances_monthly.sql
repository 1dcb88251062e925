-- company x account x month, dense within each fiscal year. Aggregate first, then cumulate:
-- no month is ever joined to all of history.
with movements as (
    select company_id, source_system, fiscal_year, account_number, period_month,
           sum(case when is_opening_balance then amount else 0 end) as opening_amount,
           sum(case when is_opening_balance then 0 else debit end) as debit,
           sum(case when is_opening_balance then 0 else credit end) as credit
    from {{ ref('fct_gl_entries') }}
    group by all
),
accounts_in_year as (
    select distinct company_id, source_system, fiscal_year, account_number from movements
),
grid as (
    select a.company_id, a.source_system, a.fiscal_year, a.account_number, m.month_start, m.month_end,
           m.month_of_fiscal_year
    from accounts_in_year as a
    join {{ ref('int_calendar__fiscal_months') }} as m using (company_id, fiscal_year)
),
filled as (
    select g.*,
           coalesce(mv.opening_amount, 0) as opening_amount,
           coalesce(mv.debit, 0) as debit,
           coalesce(mv.credit, 0) as credit
    from grid as g
    left join movements as mv
        on mv.company_id = g.company_id and mv.fiscal_year = g.fiscal_year
        and mv.account_number = g.account_number and mv.period_month = g.month_start
),
cumulated as (
    select *,
           sum(opening_amount + debit - credit) over (
               partition by company_id, fiscal_year, account_number order by month_start
               rows between unbounded preceding and current row) as closing
    from filled
)
select
    company_id,
    source_system,
    fiscal_year,
    account_number,
    month_start,
    month_end,
    month_of_fiscal_year,
    {{ money('closing - (debit - credit)') }} as opening_balance,
    {{ money('debit') }} as debit,
    {{ money('credit') }} as credit,
    {{ money('debit - credit') }} as net,
    {{ money('closing') }} as closing_balance
from cumulated
