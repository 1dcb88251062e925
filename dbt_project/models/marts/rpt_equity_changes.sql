-- Statement of changes in equity (oman pääoman muutokset, a note PMA 1753/2015 requires of small
-- companies): per company, fiscal year and equity line of the company's balance sheet, the opening (the
-- balance at the previous fiscal year's end; in the company's first fiscal year, what the year's opening
-- vouchers booked on the line), the year's result, last year's result moved from the current-year line to
-- the prior-years line, what was booked on the line during the year (net per voucher: increases, and
-- decreases such as dividends; opening vouchers and result-closing vouchers, e.g. 9999 against 2371, left
-- out: the closed result is already the result for the year), and the closing balance: the balance sheet's
-- amount at the fiscal year's last month end. other_changes is what the named movements leave unexplained
-- (closing less opening less the movements); assert_equity_changes_tie_to_balance_sheet requires it to be zero.
with years as (
    select
        f.company_id,
        f.fiscal_year,
        f.start_date,
        f.end_date,
        cast(last_day(f.end_date) as date) as month_end
    from {{ ref('int_fiscal_periods') }} as f
),

equity_lines as (
    -- the equity total and every line under it, in each schema variant
    select l.schema_variant, l.report_line_code
    from {{ ref('dim_report_line') }} as l
    left join {{ ref('dim_report_line') }} as p
        on l.schema_variant = p.schema_variant and l.parent_code = p.report_line_code
    where
        l.statement = 'BS'
        and (l.report_line_code = 'BS_EQUITY_TOTAL' or l.parent_code = 'BS_EQUITY_TOTAL'
             or p.parent_code = 'BS_EQUITY_TOTAL')
),

year_end as (
    -- every equity line at its fiscal year's last month end, with the current-year result line's amounts
    select
        b.*,
        y.start_date,
        y.end_date,
        max(b.amount) filter (where b.report_line_code = 'BS_CURRENT_YEAR_RESULT')
            over (partition by b.company_id, b.month_end) as current_result,
        max(b.amount_prior_year_end) filter (where b.report_line_code = 'BS_CURRENT_YEAR_RESULT')
            over (partition by b.company_id, b.month_end) as current_result_prior_year_end
    from {{ ref('rpt_balance_sheet') }} as b
    inner join equity_lines using (schema_variant, report_line_code)
    inner join years as y
        on b.company_id = y.company_id and b.fiscal_year = y.fiscal_year and b.month_end = y.month_end
),

equity_line_accounts as (
    select la.company_id, la.account_number, la.report_line_code
    from {{ ref('int_report_line_accounts') }} as la
    inner join equity_lines using (schema_variant, report_line_code)
),

closing_vouchers as (
    -- vouchers with a line on a result-closing account (9999 against 237x): their 237x side is the year's
    -- result, counted as result_for_the_year, not a booked increase
    select distinct g.company_id, g.voucher_id
    from {{ ref('fct_gl_entries') }} as g
    inner join {{ ref('int_accounts') }} as a
        on g.company_id = a.company_id and g.account_number = a.account_number
    where a.account_class = 'result_closing'
),

opening_vouchers as (
    -- what the opening vouchers of each fiscal year booked on each equity line, credit positive
    select
        g.company_id,
        g.fiscal_year,
        la.report_line_code,
        sum(g.credit - g.debit) as amount
    from {{ ref('fct_gl_entries') }} as g
    inner join equity_line_accounts as la
        on g.company_id = la.company_id and g.account_number = la.account_number
    where g.is_opening_balance
    group by all
),

first_years as (
    select company_id, fiscal_year
    from {{ ref('int_fiscal_years_held') }}
    where is_first_held
),

per_voucher as (
    -- what each voucher of the year booked on each equity line, credit positive, opening vouchers and
    -- result-closing vouchers excluded
    select
        g.company_id,
        g.fiscal_year,
        la.report_line_code,
        g.voucher_id,
        sum(g.credit - g.debit) as amount
    from {{ ref('fct_gl_entries') }} as g
    inner join equity_line_accounts as la
        on g.company_id = la.company_id and g.account_number = la.account_number
    left join closing_vouchers as cv on g.company_id = cv.company_id and g.voucher_id = cv.voucher_id
    where not g.is_opening_balance and cv.voucher_id is null
    group by all
),

booked as (
    select
        company_id,
        fiscal_year,
        report_line_code,
        coalesce(sum(amount) filter (where amount > 0), 0) as increases,
        coalesce(sum(amount) filter (where amount < 0), 0) as decreases
    from per_voucher
    group by all
),

rolled as (
    select
        c.company_id,
        c.source_system,
        c.fiscal_year,
        c.start_date,
        c.end_date,
        c.schema_variant,
        c.report_line_code,
        c.ordinal,
        c.level,
        c.label_fi,
        c.label_sv,
        c.label_en,
        case
            when fy.fiscal_year is not null then coalesce(ov.amount, 0) else coalesce(c.amount_prior_year_end, 0)
        end as amount_opening,
        case
            when c.report_line_code in ('BS_CURRENT_YEAR_RESULT', 'BS_EQUITY_TOTAL') then c.current_result else 0
        end as result_for_the_year,
        case
            when c.report_line_code = 'BS_CURRENT_YEAR_RESULT' then -coalesce(c.current_result_prior_year_end, 0)
            when c.report_line_code = 'BS_PRIOR_YEARS_RESULT' then coalesce(c.current_result_prior_year_end, 0)
            else 0
        end as previous_result_transferred,
        coalesce(bk.increases, 0) as booked_increases,
        coalesce(bk.decreases, 0) as booked_decreases,
        c.amount as amount_closing
    from year_end as c
    left join booked as bk
        on c.company_id = bk.company_id and c.fiscal_year = bk.fiscal_year and c.report_line_code = bk.report_line_code
    left join first_years as fy on c.company_id = fy.company_id and c.fiscal_year = fy.fiscal_year
    left join opening_vouchers as ov
        on c.company_id = ov.company_id and c.fiscal_year = ov.fiscal_year and c.report_line_code = ov.report_line_code
)

select
    company_id,
    source_system,
    fiscal_year,
    start_date,
    end_date,
    schema_variant,
    report_line_code,
    ordinal,
    level,
    label_fi,
    label_sv,
    label_en,
    {{ money('amount_opening') }} as amount_opening,
    {{ money('result_for_the_year') }} as result_for_the_year,
    {{ money('previous_result_transferred') }} as previous_result_transferred,
    {{ money('booked_increases') }} as booked_increases,
    {{ money('booked_decreases') }} as booked_decreases,
    {{ money('amount_closing - amount_opening - result_for_the_year - previous_result_transferred
        - booked_increases - booked_decreases') }} as other_changes,
    {{ money('amount_closing') }} as amount_closing
from rolled
