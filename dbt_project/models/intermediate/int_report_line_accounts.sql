-- Which report lines each account of each company belongs to (leaf line plus the totals above it).
with ranges as (
    select r.*, l.line_type
    from {{ ref('report_line_ranges') }} as r
    join {{ ref('report_lines') }} as l using (report_line_code)
),
accounts as (
    select distinct company_id, source_system, account_number from {{ ref('int_gl__lines_unioned') }}
),
company_template as (
    {% set companies = var('companies') %}
    {% if companies %}
    select * from (values {% for c in companies %}('{{ c.id }}', '{{ c.get("chart_template", "default") }}'){% if not loop.last %}, {% endif %}{% endfor %}) as t(company_id, chart_template)
    {% else %}
    select cast(null as varchar) as company_id, cast(null as varchar) as chart_template where false
    {% endif %}
),
candidate as (
    select a.company_id, a.source_system, a.account_number, r.report_line_code, r.line_type,
           r.company_id is not null as is_override
    from accounts as a
    left join company_template as t on t.company_id = a.company_id
    join ranges as r
        on r.chart_template = coalesce(t.chart_template, 'default')
        and (r.company_id is null or r.company_id = a.company_id)
        and a.account_number >= r.range_start and a.account_number < r.range_end
),
overridden as (
    -- a company with its own rows for a line uses only those rows for that line
    select distinct company_id, report_line_code from ranges where company_id is not null
)
select c.company_id, c.source_system, c.account_number, c.report_line_code, c.line_type
from candidate as c
left join overridden as o on o.company_id = c.company_id and o.report_line_code = c.report_line_code
where c.is_override or o.company_id is null
