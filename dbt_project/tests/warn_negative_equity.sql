-- Warning: negative equity at a fiscal year's end or at the latest month end with entries. A limited
-- company whose equity is negative must register the fact (OYL 20:23); pääomalainat count as equity here,
-- as they are in the balance sheet's equity total.
{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'rpt_balance_sheet'}}}) }}
with latest as (
    select company_id, cast(last_day(max(entry_date)) as date) as month_end
    from {{ ref('fct_gl_entries') }}
    group by all
),

checked as (
    select company_id, cast(last_day(end_date) as date) as month_end from {{ ref('dim_fiscal_period') }}
    union
    select company_id, month_end from latest
)

select
    b.company_id, b.fiscal_year, b.month_end, b.amount as equity,
    'company ' || b.company_id || ': equity is negative, ' || b.amount || ' at ' || b.month_end
    || ' (OYL 20:23: the board must register it)' as problem
from {{ ref('rpt_balance_sheet') }} as b
inner join checked as c on b.company_id = c.company_id and b.month_end = c.month_end
where b.report_line_code = 'BS_EQUITY_TOTAL' and b.amount < 0
