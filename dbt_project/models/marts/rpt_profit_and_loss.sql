-- Statutory P&L (expense type) per company x fiscal year x month x report line, in the company's
-- schema variant (KPA or PMA), presented credit minus debit: income positive, costs negative.
with months as (
    select m.*, s.schema_variant
    from {{ ref('int_calendar__fiscal_months') }} as m
    join {{ ref('int_company_settings') }} as s using (company_id)
),
line_month as (
    select b.company_id, b.fiscal_year, b.month_start, la.report_line_code,
           sum(b.credit - b.debit) as amount_month
    from {{ ref('fct_account_balances_monthly') }} as b
    join {{ ref('int_report_line_accounts') }} as la using (company_id, account_number)
    where b.account_number >= '3'
    group by all
),
grid as (
    select m.company_id, m.source_system, m.fiscal_year, m.month_start, m.month_end, m.month_of_fiscal_year,
           m.schema_variant, l.report_line_code, l.ordinal, l.level, l.line_type, l.label_fi, l.label_sv, l.label_en
    from months as m
    join {{ ref('dim_report_line') }} as l on l.schema_variant = m.schema_variant and l.statement = 'PL'
),
ytd as (
    select g.*,
           coalesce(lm.amount_month, 0) as amount_month,
           sum(coalesce(lm.amount_month, 0)) over (
               partition by g.company_id, g.fiscal_year, g.report_line_code order by g.month_start
               rows between unbounded preceding and current row) as amount_ytd
    from grid as g
    left join line_month as lm
        on lm.company_id = g.company_id and lm.fiscal_year = g.fiscal_year
        and lm.month_start = g.month_start and lm.report_line_code = g.report_line_code
)
select
    cur.company_id,
    cur.source_system,
    cur.fiscal_year,
    cur.month_start,
    cur.month_end,
    cur.month_of_fiscal_year,
    cur.schema_variant,
    cur.report_line_code,
    cur.ordinal,
    cur.level,
    cur.line_type,
    cur.label_fi,
    cur.label_sv,
    cur.label_en,
    {{ money('cur.amount_month') }} as amount_month,
    {{ money('cur.amount_ytd') }} as amount_ytd,
    {{ money('prior.amount_ytd') }} as amount_prior_year_ytd
from ytd as cur
left join ytd as prior
    on prior.company_id = cur.company_id
    and prior.report_line_code = cur.report_line_code
    and prior.fiscal_year < cur.fiscal_year
    and prior.month_start = cur.month_start - interval 12 month
