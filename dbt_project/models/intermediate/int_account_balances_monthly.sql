-- company x account x month, dense within each fiscal year. Aggregate first, then cumulate: no month
-- is ever joined to all of history. Balance-sheet accounts carry forward from the last opening
-- voucher: a fiscal year the ERP opened restarts from its opening balances, one it never opened
-- continues from the previous year. P&L accounts start from zero every fiscal year.
with movements as (
    select
        g.company_id,
        g.fiscal_year,
        g.account_number,
        a.statement,
        cast(date_trunc('month', g.entry_date) as date) as period_month,
        sum(case when g.is_opening_balance then g.debit - g.credit else 0 end) as opening_amount,
        sum(case when g.is_opening_balance then 0 else g.debit end) as debit,
        sum(case when g.is_opening_balance then 0 else g.credit end) as credit
    from {{ ref('int_gl__lines_unioned') }} as g
    left join {{ ref('int_accounts') }} as a
        on g.company_id = a.company_id and g.account_number = a.account_number
    group by all
),

years as (
    select
        f.company_id,
        f.fiscal_year,
        f.start_date,
        exists(
            select 1 from {{ ref('int_gl__lines_unioned') }} as g
            where g.company_id = f.company_id and g.fiscal_year = f.fiscal_year and g.is_opening_balance
        ) as has_opening
    from {{ ref('int_fiscal_periods') }} as f
),

anchored as (
    -- balance-sheet carry-forward group: a new group starts at every fiscal year the ERP opened
    select
        *,
        sum(case when has_opening then 1 else 0 end) over (
            partition by company_id order by start_date
        ) as bs_group
    from years
),

accounts as (
    -- every account a company has used in this fiscal year or (balance sheet) any earlier one
    select distinct
        y.company_id,
        y.fiscal_year,
        m.account_number,
        m.statement
    from anchored as y
    inner join movements as m
        on
            y.company_id = m.company_id
            and (m.fiscal_year = y.fiscal_year or (m.statement = 'BS' and m.fiscal_year < y.fiscal_year))
),

grid as (
    select
        a.company_id,
        a.fiscal_year,
        a.account_number,
        a.statement,
        y.bs_group,
        m.month_start,
        m.month_end,
        m.month_of_fiscal_year,
        m.source_system
    from accounts as a
    inner join anchored as y on a.company_id = y.company_id and a.fiscal_year = y.fiscal_year
    inner join {{ ref('int_calendar__fiscal_months') }} as m
        on a.company_id = m.company_id and a.fiscal_year = m.fiscal_year
),

filled as (
    select
        g.*,
        coalesce(mv.opening_amount, 0) as opening_amount,
        coalesce(mv.debit, 0) as debit,
        coalesce(mv.credit, 0) as credit
    from grid as g
    left join movements as mv
        on
            g.company_id = mv.company_id
            and g.fiscal_year = mv.fiscal_year
            and g.account_number = mv.account_number
            and g.month_start = mv.period_month
),

cumulated as (
    select
        *,
        case
            when statement = 'BS'
                then sum(opening_amount + debit - credit) over (
                    partition by company_id, account_number, bs_group order by month_start
                    rows between unbounded preceding and current row
                )
            else sum(opening_amount + debit - credit) over (
                partition by company_id, account_number, fiscal_year order by month_start
                rows between unbounded preceding and current row
            )
        end as closing
    from filled
)

select
    company_id,
    source_system,
    fiscal_year,
    account_number,
    statement,
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
