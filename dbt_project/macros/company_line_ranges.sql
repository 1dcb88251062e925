{% macro company_line_ranges(line_codes, schema_variant=none) %}
{#- The account ranges of the given report lines per company, with the rule of int_report_line_accounts:
    a company's own rows (company_id set) for a line replace the chart template's rows for that line.
    schema_variant: the variant whose ranges are read (e.g. 'KPA'); none = each company's own variant.
    Returns a subquery: company_id, schema_variant, report_line_code, range_start, range_end. -#}
(
    with wanted as (
        select r.*
        from {{ ref('report_line_ranges') }} as r
        where r.report_line_code in ({% for code in line_codes %}'{{ code }}'{% if not loop.last %}, {% endif %}{% endfor %})
    ),

    per_company as (
        select
            s.company_id,
            r.schema_variant,
            r.report_line_code,
            r.range_start,
            r.range_end,
            r.company_id is not null as is_override
        from {{ ref('int_company_settings') }} as s
        inner join wanted as r
            on
                s.chart_template = r.chart_template
                and r.schema_variant = {% if schema_variant %}'{{ schema_variant }}'{% else %}s.schema_variant{% endif %}
                and (r.company_id is null or r.company_id = s.company_id)
    ),

    overridden as (
        select distinct company_id, schema_variant, report_line_code
        from wanted
        where company_id is not null
    )

    select c.company_id, c.schema_variant, c.report_line_code, c.range_start, c.range_end
    from per_company as c
    left join overridden as o using (company_id, schema_variant, report_line_code)
    where c.is_override or o.company_id is null
)
{% endmacro %}
