-- Warning: a fiscal year that has ended (entries dated after its end exist, or it is closed in the ERP)
-- shows a profit but no line on an income-tax account (the accounts of the company's PL_INCOME_TAXES line,
-- 9900-9979 in the default chart; other direct taxes, 998x, are not income tax), in a company that has
-- income-tax accounts (in its chart or its ledger). A limited company's profit is taxable; a sole trader or
-- partnership is taxed personally and its chart usually has no income-tax account, so a company without
-- any is not warned about.
{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'rpt_profit_and_loss'}}}) }}
with last_entry as (
    select company_id, max(entry_date) as last_date
    from {{ ref('fct_gl_entries') }}
    group by all
),

income_tax_ranges as (
    select r.company_id, r.range_start, r.range_end
    from {{ company_line_ranges(['PL_INCOME_TAXES']) }} as r
),

taxpayers as (
    select distinct a.company_id
    from {{ ref('dim_account') }} as a
    inner join income_tax_ranges as r
        on a.company_id = r.company_id and r.range_start <= a.account_number and a.account_number < r.range_end
),

taxed as (
    select distinct g.company_id, g.fiscal_year
    from {{ ref('fct_gl_entries') }} as g
    inner join income_tax_ranges as r
        on g.company_id = r.company_id and r.range_start <= g.account_number and g.account_number < r.range_end
),

year_results as (
    select p.company_id, p.fiscal_year, p.amount_ytd as result
    from {{ ref('rpt_profit_and_loss') }} as p
    inner join {{ ref('dim_fiscal_period') }} as f using (company_id, fiscal_year)
    where p.report_line_code = 'PL_NET_RESULT' and p.month_end = last_day(f.end_date)
)

select
    r.company_id, r.fiscal_year, r.result,
    'company ' || r.company_id || ': fiscal year ' || r.fiscal_year || ' made a profit of ' || r.result
    || ' and no income tax is booked' as problem
from year_results as r
inner join {{ ref('dim_fiscal_period') }} as f using (company_id, fiscal_year)
inner join last_entry as l on r.company_id = l.company_id
inner join taxpayers as tp on r.company_id = tp.company_id
left join taxed as t on r.company_id = t.company_id and r.fiscal_year = t.fiscal_year
where r.result > 0 and t.company_id is null and (f.end_date < l.last_date or f.is_closed)
