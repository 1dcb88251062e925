{#
  A config value (from var('companies')) as a SQL string literal: single quotes doubled, so the value
  is always data, never SQL, even one that slipped past validation in connectors/companies.py (a
  company named O'Brien Oy is legitimate). DuckDB string literals have no other escape character;
  a backslash is an ordinary character. None becomes null. Every string from var('companies')
  reaches SQL through this macro; nothing splices one between quotes by hand.
#}
{% macro sql_string(value) -%}
    {%- if value is none -%}
        null
    {%- else -%}
        '{{ (value | string) | replace("'", "''") }}'
    {%- endif -%}
{%- endmacro %}
