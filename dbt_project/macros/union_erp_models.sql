{#
  One ERP-generic relation from the interface model every ERP staging folder provides:
  stg_<erp>__<interface> for each erp in var('erps'), stacked by column name.
#}
{% macro union_erp_models(interface) -%}
    {%- set erps = var('erps') -%}
    {%- if not erps -%}
        {{ exceptions.raise_compiler_error("var('erps') is empty: no ERP staging models to union for " ~ interface) }}
    {%- endif -%}
    {%- for erp in erps %}
    select * from {{ ref('stg_' ~ erp ~ '__' ~ interface) }}
    {%- if not loop.last %}
    union all by name
    {%- endif -%}
    {%- endfor %}
{%- endmacro %}
