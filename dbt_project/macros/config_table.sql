{#
  One of the companies' tables the warehouse step writes before each build (assets/company_tables.py):
  <config_dir>/<name>.parquet, as exactly `columns`, all text. The companies are data, read from that
  file, never spliced into SQL. A dbt run by hand without the file (no Dagster step wrote it) reads
  an empty relation with those columns, so the models that use it need no special case.
#}
{% macro config_table(name, columns) -%}
    {%- set path = var('config_dir') ~ '/' ~ name ~ '.parquet' -%}
    {%- set found = 0 -%}
    {%- if execute -%}
        {%- set found = run_query("select count(*) from glob(" ~ sql_string(path) ~ ")").columns[0].values()[0] -%}
    {%- endif -%}
    (select {% for col in columns -%}
        cast({{ '"' ~ col ~ '"' if found > 0 else 'null' }} as varchar) as "{{ col }}"
        {%- if not loop.last %}, {% endif %}
    {%- endfor %} from {% if found > 0 %}read_parquet({{ sql_string(path) }}){% else %}(select 1) where false{% endif %})
{%- endmacro %}
