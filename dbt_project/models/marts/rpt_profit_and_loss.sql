with months as (
    select
        m.*,
        s.schema_variant
    from {{ ref('int_calendar__fiscal_months') }} as m
    inner join {{ ref('int_company_settings') }} as s on m.company_id = s.company_id
),

line_month as (
    select
        b.company_id,
        b.fiscal_year,
        b.month_start,
        la.report_line_code,
        sum(b.credit - b.debit) as amount_month
    from {{ ref('int_account_balances_monthly') }} as b
    inner join {{ ref('int_report_line_accounts') }} as la
        on b.company_id = la.company_id and b.account_number = la.account_number
    where b.statement = 'PL'
    group by all
),

grid as (
    select
        m.company_id,
        m.source_system,
        m.fiscal_year,
        m.month_start,
        m.month_end,
        m.month_of_fiscal_year,
        m.schema_variant,
        l.report_line_code,
        l.ordinal,
        l.level,
        l.line_type,
        l.label_fi,
        l.label_sv,
        l.label_en,
        l.print_rule
    from months as m
    inner join {{ ref('dim_report_line') }} as l
        on m.schema_variant = l.schema_variant and l.statement = 'PL' and l.line_type <> 'memo'
),

ytd as (
    select
        g.*,
        coalesce(lm.amount_month, 0) as amount_month,
        sum(coalesce(lm.amount_month, 0)) over (
            partition by g.company_id, g.fiscal_year, g.report_line_code order by g.month_start
            rows between unbounded preceding and current row
        ) as amount_ytd
    from grid as g
    left join line_month as lm
        on
            g.company_id = lm.company_id
            and g.fiscal_year = lm.fiscal_year
            and g.month_start = lm.month_start
            and g.report_line_code = lm.report_line_code
),

years as (
    -- each fiscal year with its length and the fiscal year before it (the comparative, KPL 3:1 § 2)
    select
        company_id,
        fiscal_year,
        cast(datediff('month', start_date, end_date) + 1 as integer) as length_months,
        lag(fiscal_year) over (partition by company_id order by start_date) as prior_fiscal_year,
        cast(lag(datediff('month', start_date, end_date) + 1) over (
            partition by company_id order by start_date
        ) as integer) as prior_length_months
    from {{ ref('int_fiscal_periods') }}
),

prior_total as (
    select company_id, fiscal_year, report_line_code, sum(amount_month) as amount
    from ytd
    group by all
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
    {{ money('prev.amount_ytd') }} as amount_prior_year_ytd,
    {{ money('pt.amount') }} as amount_prior_year_total,
    y.prior_fiscal_year,
    y.length_months as fiscal_year_months,
    y.prior_length_months as prior_fiscal_year_months,
    y.length_months <> 12 or coalesce(y.prior_length_months, 12) <> 12 as is_irregular_length,
    case cur.print_rule
        when 'always' then true
        when 'never' then false
        else cur.amount_ytd <> 0 or coalesce(prev.amount_ytd, 0) <> 0 or coalesce(pt.amount, 0) <> 0
    end as is_printed
from ytd as cur
inner join years as y on cur.company_id = y.company_id and cur.fiscal_year = y.fiscal_year
left join ytd as prev
    on
        cur.company_id = prev.company_id
        and cur.report_line_code = prev.report_line_code
        and y.prior_fiscal_year = prev.fiscal_year
        and cur.month_of_fiscal_year = prev.month_of_fiscal_year
left join prior_total as pt
    on
        cur.company_id = pt.company_id
        and cur.report_line_code = pt.report_line_code
        and y.prior_fiscal_year = pt.fiscal_year
