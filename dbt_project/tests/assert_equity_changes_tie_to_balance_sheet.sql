{{ config(meta={'dagster': {'ref': {'name': 'rpt_equity_changes'}}}) }}
-- The statement of changes in equity ties to the balance sheet and the P&L without a balancing figure:
-- for every line, the opening plus the named movements (the result for the year, the previous result
-- transferred, the booked increases and decreases) is the balance sheet's amount at the fiscal year's end;
-- other_changes (what the named movements leave unexplained) is zero; after the first fiscal year the
-- opening is the balance sheet's amount at the previous fiscal year's end; the lines add up to the equity
-- total in every column; the total's result for the year is the P&L's net result and the previous result
-- transferred to Edellisten tilikausien voitto is the P&L's net result of the year before.
with first_years as (
    select company_id, fiscal_year
    from {{ ref('int_fiscal_years_held') }}
    where is_first_held
),

fy_end as (
    -- a year up to the first held one opens from its opening vouchers (as rpt_equity_changes opens it)
    select
        f.company_id,
        f.fiscal_year,
        cast(last_day(f.end_date) as date) as month_end,
        f.fiscal_year <= coalesce(fy.fiscal_year, f.fiscal_year) as is_first_year
    from {{ ref('dim_fiscal_period') }} as f
    left join first_years as fy on f.company_id = fy.company_id
),

lines as (
    select e.*, l.line_type, l.parent_code
    from {{ ref('rpt_equity_changes') }} as e
    inner join {{ ref('dim_report_line') }} as l using (schema_variant, report_line_code)
),

against_sheet as (
    select
        e.company_id, e.fiscal_year, e.report_line_code,
        'opening ' || e.amount_opening || ' + result ' || e.result_for_the_year || ' + transferred '
        || e.previous_result_transferred || ' + increases ' || e.booked_increases || ' + decreases '
        || e.booked_decreases || ' <> balance sheet ' || coalesce(cast(b.amount as varchar), 'none')
        || ' at ' || f.month_end || ', unexplained ' || e.other_changes
        || ', opening <> prior year end ' || coalesce(cast(b.amount_prior_year_end as varchar), 'none')
            as detail
    from lines as e
    inner join fy_end as f using (company_id, fiscal_year)
    left join {{ ref('rpt_balance_sheet') }} as b
        on e.company_id = b.company_id and f.month_end = b.month_end and e.report_line_code = b.report_line_code
    where
        b.amount is distinct from (
            e.amount_opening + e.result_for_the_year + e.previous_result_transferred + e.booked_increases
            + e.booked_decreases
        )
        or e.other_changes <> 0
        or b.amount is distinct from e.amount_closing
        or (not f.is_first_year and coalesce(b.amount_prior_year_end, 0) <> e.amount_opening)
),

leaves as (
    select
        company_id,
        fiscal_year,
        sum(amount_opening) as opening,
        sum(result_for_the_year) as result,
        sum(previous_result_transferred) as transferred,
        sum(booked_increases) as increases,
        sum(booked_decreases) as decreases,
        sum(amount_closing) as closing
    from lines
    where line_type = 'line'
    group by all
),

against_total as (
    select
        t.company_id, t.fiscal_year, t.report_line_code,
        'the equity lines sum to ' || l.opening || ' / ' || l.result || ' / ' || l.transferred || ' / '
        || l.increases || ' / ' || l.decreases || ' / ' || l.closing || ', the total is ' || t.amount_opening
        || ' / ' || t.result_for_the_year || ' / ' || t.previous_result_transferred || ' / ' || t.booked_increases
        || ' / ' || t.booked_decreases || ' / ' || t.amount_closing as detail
    from lines as t
    inner join leaves as l using (company_id, fiscal_year)
    where
        t.report_line_code = 'BS_EQUITY_TOTAL'
        and (
            l.opening <> t.amount_opening or l.result <> t.result_for_the_year
            or l.transferred <> t.previous_result_transferred or l.increases <> t.booked_increases
            or l.decreases <> t.booked_decreases or l.closing <> t.amount_closing
        )
),

net_result as (
    select p.company_id, p.fiscal_year, p.amount_ytd, p.amount_prior_year_total
    from {{ ref('rpt_profit_and_loss') }} as p
    inner join fy_end as f
        on p.company_id = f.company_id and p.fiscal_year = f.fiscal_year and p.month_end = f.month_end
    where p.report_line_code = 'PL_NET_RESULT'
),

against_pl as (
    select
        t.company_id, t.fiscal_year, t.report_line_code,
        'result for the year ' || t.result_for_the_year || ' <> P&L net result '
        || coalesce(cast(p.amount_ytd as varchar), 'none')
            as detail
    from lines as t
    left join net_result as p using (company_id, fiscal_year)
    where t.report_line_code = 'BS_EQUITY_TOTAL' and p.amount_ytd is distinct from t.result_for_the_year
),

against_prior_pl as (
    select
        t.company_id, t.fiscal_year, t.report_line_code,
        'previous result transferred ' || t.previous_result_transferred || ' <> the previous year''s P&L net result '
        || coalesce(cast(p.amount_prior_year_total as varchar), 'none')
            as detail
    from lines as t
    left join net_result as p using (company_id, fiscal_year)
    where
        t.report_line_code = 'BS_PRIOR_YEARS_RESULT'
        and coalesce(p.amount_prior_year_total, 0) <> t.previous_result_transferred
)

select
    company_id, fiscal_year, report_line_code,
    'company ' || company_id || ', fiscal year ' || fiscal_year || ', ' || report_line_code || ': ' || detail as problem
from (
    select * from against_sheet
    union all
    select * from against_total
    union all
    select * from against_pl
    union all
    select * from against_prior_pl
) as found
