-- Balance sheet per company x month end x report line, natural side positive. The current-year
-- result is computed from P&L accounts since the fiscal-year start and the prior-years line adds
-- the P&L of earlier years the ERP never carried into an opening balance, so the statement
-- balances whether or not the books were closed.
with months as (
    select m.*, s.schema_variant, r.bs_group
    from {{ ref('int_calendar__fiscal_months') }} as m
    join {{ ref('int_company_settings') }} as s using (company_id)
    join {{ ref('int_fiscal_year_results') }} as r using (company_id, fiscal_year)
),
signed as (
    select b.company_id, b.fiscal_year, b.month_start, b.account_number,
           case when c.normal_side = 'debit' then b.closing_balance else -b.closing_balance end as natural_balance
    from {{ ref('fct_account_balances_monthly') }} as b
    join {{ ref('int_company_settings') }} as s using (company_id)
    join {{ ref('account_classes') }} as c
        on c.chart_template = s.chart_template
        and b.account_number >= c.range_start and b.account_number < c.range_end
    where b.account_number < '3'
),
line_amounts as (
    select sg.company_id, sg.month_start, la.report_line_code, sum(sg.natural_balance) as amount
    from signed as sg
    join {{ ref('int_report_line_accounts') }} as la using (company_id, account_number)
    group by all
),
current_result as (
    select company_id, month_start, -sum(closing_balance) as amount
    from {{ ref('fct_account_balances_monthly') }}
    where account_number >= '3'
    group by all
),
unclosed_prior as (
    select m.company_id, m.month_start, coalesce(sum(r.result), 0) as amount
    from months as m
    left join {{ ref('int_fiscal_year_results') }} as r
        on r.company_id = m.company_id and r.bs_group = m.bs_group and r.fiscal_year < m.fiscal_year
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
join {{ ref('dim_report_line') }} as l on l.schema_variant = m.schema_variant and l.statement = 'BS'
left join line_amounts as a
    on a.company_id = m.company_id and a.month_start = m.month_start and a.report_line_code = l.report_line_code
left join current_result as c on c.company_id = m.company_id and c.month_start = m.month_start
left join unclosed_prior as p on p.company_id = m.company_id and p.month_start = m.month_start
