-- The current-year result line is computed from the P&L accounts since the fiscal-year start (the
-- result-closing account, 9999, excluded) and the prior-years line adds the P&L of earlier years the ERP
-- never carried into an opening balance and the year's result-closing entries, whose counterpart is
-- booked on 237x, itself on the prior-years line: so the statement balances whether or not the books were
-- closed, and a closing entry (9999 against 2371) neither zeroes nor doubles the year's result.
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

pl_result as (
    -- credit minus debit of the fiscal year so far: the result, and what result-closing entries moved out
    select
        b.company_id,
        b.month_start,
        -sum(b.closing_balance) filter (where a.account_class is distinct from 'result_closing') as amount,
        coalesce(-sum(b.closing_balance) filter (where a.account_class = 'result_closing'), 0) as closed_amount
    from {{ ref('int_account_balances_monthly') }} as b
    inner join {{ ref('int_accounts') }} as a
        on b.company_id = a.company_id and b.account_number = a.account_number
    where b.statement = 'PL'
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
),

sheet as (
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
            + case when l.includes_result like '%prior%' then coalesce(p.amount, 0) + coalesce(c.closed_amount, 0)
                   else 0 end
            + case when l.includes_result like '%current%' then coalesce(c.amount, 0) else 0 end") }} as amount
    from months as m
    inner join {{ ref('dim_report_line') }} as l
        on m.schema_variant = l.schema_variant and l.statement = 'BS'
    left join line_amounts as a
        on m.company_id = a.company_id and m.month_start = a.month_start and l.report_line_code = a.report_line_code
    left join pl_result as c on m.company_id = c.company_id and m.month_start = c.month_start
    left join unclosed_prior as p on m.company_id = p.company_id and m.month_start = p.month_start
),

prior_year_end as (
    -- the month end that closes the fiscal year before each fiscal year (KPL 3:1 § 2 comparative)
    select
        company_id,
        fiscal_year,
        lag(end_date) over (partition by company_id order by start_date) as prior_end_date
    from {{ ref('int_fiscal_periods') }}
)

select
    s.company_id,
    s.source_system,
    s.fiscal_year,
    s.month_end,
    s.schema_variant,
    s.report_line_code,
    s.parent_code,
    s.ordinal,
    s.level,
    s.line_type,
    s.label_fi,
    s.label_sv,
    s.label_en,
    s.amount,
    y.prior_end_date as prior_year_end_date,
    prev.amount as amount_prior_year_end
from sheet as s
inner join prior_year_end as y on s.company_id = y.company_id and s.fiscal_year = y.fiscal_year
left join sheet as prev
    on
        s.company_id = prev.company_id
        and s.report_line_code = prev.report_line_code
        and prev.month_end = last_day(y.prior_end_date)
