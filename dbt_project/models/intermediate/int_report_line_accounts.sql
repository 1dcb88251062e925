-- Which report lines each account of each company belongs to: its leaf line plus the totals above it,
-- in the company's schema variant. A company's own rows for a line replace the template's rows.
with ranges as (
    select r.*, l.line_type
    from {{ ref('report_line_ranges') }} as r
    inner join {{ ref('report_lines') }} as l using (schema_variant, report_line_code)
),

accounts as (
    select distinct company_id, source_system, account_number from {{ ref('int_gl__lines_unioned') }}
),

candidate as (
    select a.company_id, a.source_system, a.account_number, s.schema_variant, r.report_line_code, r.line_type,
           r.company_id is not null as is_override
    from accounts as a
    inner join {{ ref('int_company_settings') }} as s using (company_id)
    inner join ranges as r
        on s.chart_template = r.chart_template and s.schema_variant = r.schema_variant
        and (r.company_id is null or a.company_id = r.company_id)
        and a.account_number >= r.range_start and a.account_number < r.range_end
),

overridden as (
    select distinct company_id, schema_variant, report_line_code
    from ranges
    where company_id is not null
)

select distinct c.company_id, c.source_system, c.account_number, c.schema_variant, c.report_line_code, c.line_type
from candidate as c
left join overridden as o using (company_id, schema_variant, report_line_code)
where c.is_override or o.company_id is null
