-- company x account x month, dense within each fiscal year. Aggregate first, then cumulate: no month
-- is ever joined to all of history. Balance-sheet accounts carry forward from the last opening
-- voucher: a fiscal year the ERP opened restarts from its opening balances, one it never opened
-- continues from the previous year. P&L accounts start from zero every fiscal year.
with movements as (
    select company_id, source_system, fiscal_year, account_number, period_month,
           sum(case when is_opening_balance then amount else 0 end) as opening_amount,
           sum(case when is_opening_balance then 0 else debit end) as debit,
           sum(case when is_opening_balance then 0 else credit end) as credit
    from {{ ref('fct_gl_entries') }}
    group by all
),
years as (
    select f.company_id, f.fiscal_year, f.start_date,
           exists (select 1 from {{ ref('fct_gl_entries') }} as g
                   where g.company_id = f.company_id and g.fiscal_year = f.fiscal_year and g.is_opening_balance) as has_opening
    from {{ ref('int_fiscal_periods') }} as f
),
anchored as (
    -- balance-sheet carry-forward group: a new group starts at every fiscal year the ERP opened
    select *, sum(case when has_opening then 1 else 0 end) over (partition by company_id order by start_date) as bs_group
    from years
),
accounts as (
    -- every account a company has used in this fiscal year or (balance sheet) any earlier one
    select distinct y.company_id, y.fiscal_year, m.account_number
    from anchored as y
    join movements as m
        on m.company_id = y.company_id
        and (m.fiscal_year = y.fiscal_year or (m.account_number < '3' and m.fiscal_year < y.fiscal_year))
),
grid as (
    select a.company_id, a.fiscal_year, a.account_number, y.bs_group, m.month_start, m.month_end,
           m.month_of_fiscal_year, m.source_system
    from accounts as a
    join anchored as y using (company_id, fiscal_year)
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
           case when account_number < '3' then
               sum(opening_amount + debit - credit) over (
                   partition by company_id, account_number, bs_group order by month_start
                   rows between unbounded preceding and current row)
           else
               sum(opening_amount + debit - credit) over (
                   partition by company_id, account_number, fiscal_year order by month_start
                   rows between unbounded preceding and current row)
           end as closing
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
    {{ money('closing') }} as closing_balance,
    bs_group
from cumulated
