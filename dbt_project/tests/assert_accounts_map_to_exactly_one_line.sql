{{ config(meta={'dagster': {'ref': {'name': 'fct_gl_entries'}}}) }}
-- Every account with activity maps to exactly one leaf report line.
with active as (select distinct company_id, account_number from {{ ref('fct_gl_entries') }}),

leaves as (
    select company_id, account_number, count(*) as leaf_lines
    from {{ ref('int_report_line_accounts') }}
    where line_type in ('line', 'memo')
    group by all
)

select a.company_id, a.account_number, coalesce(l.leaf_lines, 0) as leaf_lines,
       'company ' || a.company_id || ', account ' || a.account_number || ' maps to ' || coalesce(l.leaf_lines, 0)
           || ' report lines' as problem
from active as a left join leaves as l using (company_id, account_number)
where coalesce(l.leaf_lines, 0) <> 1
