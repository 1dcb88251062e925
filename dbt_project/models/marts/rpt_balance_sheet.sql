-- The current-year result is computed from P&L accounts since the fiscal-year start and the
-- prior-years line adds the P&L of earlier years the ERP never carried into an opening balance,
-- so the statement balances whether or not the books were closed.
with months as (
    select
        m.*,
        s.schema_variant,
        r.bs_group
    from {{ ref('int_calendar__fiscal_months') }} as m
    inner join {{ ref('int_company_settings') }} as s on m.company_id = s.company_id
    inner join {{ ref('int_fiscal_year_results') }} as r
        on m.company_id = r.company_id and m.fiscal_year = r.fiscal_year
),

signed as (
    select
        b.company_id,
        b.fiscal_year,
        b.month_start,
        b.account_number,
        case when a.normal_side = 'debit' then b.closing_balance else -b.closing_balance end as natural_balance
    from {{ ref('int_account_balances_monthly') }} as b
    inner join {{ ref('int_accounts') }} as a
        on b.company_id = a.company_id and b.account_number = a.account_number
    where b.statement = 'BS'
),

line_amounts as (
    select
        sg.company_id,
        sg.month_start,
        la.report_line_code,
        sum(sg.natural_balance) as amount
    from signed as sg
    inner join {{ ref('int_report_line_accounts') }} as la
        on sg.company_id = la.company_id and sg.account_number = la.account_number
    group by all
),

current_result as (
    select
        company_id,
        month_start,
        -sum(closing_balance) as amount
    from {{ ref('int_account_balances_monthly') }}
    where statement = 'PL'
    group by all
),

unclosed_prior as (
    select
        m.company_id,
        m.month_start,
        coalesce(sum(r.result), 0) as amount
    from months as m
    left join {{ ref('int_fiscal_year_results') }} as r
        on m.company_id = r.company_id and m.bs_group = r.bs_group and m.fiscal_year > r.fiscal_year
    group by all
)

select
    m.company_id,
    m.source_system,
    m.fiscal_year,
    m.month_end,
    m.schema_variant,
    l.report_line_code,
    l.parent_code,
    l.ordinal,
    l.level,
    l.line_type,
    l.label_fi,
    l.label_sv,
    l.label_en,
    {{ money("coalesce(a.amount, 0)
        + case when l.includes_result like '%prior%' then coalesce(p.amount, 0) else 0 end
        + case when l.includes_result like '%current%' then coalesce(c.amount, 0) else 0 end") }} as amount
from months as m
inner join {{ ref('dim_report_line') }} as l
    on m.schema_variant = l.schema_variant and l.statement = 'BS'
left join line_amounts as a
    on m.company_id = a.company_id and m.month_start = a.month_start and l.report_line_code = a.report_line_code
left join current_result as c on m.company_id = c.company_id and m.month_start = c.month_start
left join unclosed_prior as p on m.company_id = p.company_id and m.month_start = p.month_start
