{#
  Read one endpoint of the Parquet lake: raw/<source>/<endpoint>/**/part-0.parquet.
  Registers the dbt source (so Dagster draws lineage from the extract asset) and, when nothing
  has been extracted yet for that endpoint, yields an empty relation with the given columns
  instead of failing on an empty glob.
#}
{% macro lake_scan(source_name, endpoint, columns) -%}
    {%- set relation = source(source_name, endpoint) -%}
    {%- set pattern = var('lake_root') ~ '/raw/' ~ source_name ~ '/' ~ endpoint ~ '/**/*.parquet' -%}
    {%- set found = 0 -%}
    {%- if execute -%}
        {%- set found = run_query("select count(*) from glob('" ~ pattern ~ "')").columns[0].values()[0] -%}
    {%- endif -%}
    {%- if found > 0 -%}
        read_parquet('{{ pattern }}', hive_partitioning = false, union_by_name = true)
    {%- else -%}
        (select {% for name, type in columns.items() %}cast(null as {{ type }}) as {{ name }}{% if not loop.last %}, {% endif %}{% endfor %} where false)
    {%- endif -%}
{%- endmacro %}
