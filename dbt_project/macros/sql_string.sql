{#
  A value from outside the project (a path from the vars) as a SQL string literal: single quotes
  doubled, so the value is always data, never SQL (a folder named O'Brien is legitimate). DuckDB
  string literals have no other escape character; a backslash is an ordinary character. None becomes
  null. Every such string reaches SQL through this macro; nothing splices one between quotes by hand.
  The companies' own values never reach SQL text at all: the models read them as data (config_table).
#}
{% macro sql_string(value) -%}
    {%- if value is none -%}
        null
    {%- else -%}
        '{{ (value | string) | replace("'", "''") }}'
    {%- endif -%}
{%- endmacro %}
