{#
  Rows from companies.yaml (var('companies')) as a relation: `rows` is a list of tuples of text
  values, `columns` their names. Every value is an escaped literal (sql_string); with no rows, an
  empty relation of varchar columns, so the models that read it need no special case.
#}
{% macro config_rows(rows, columns) -%}
    {%- if rows -%}
    select {% for col in columns %}t.{{ col }}{% if not loop.last %}, {% endif %}{% endfor %}
    from (values
        {% for row in rows -%}
        ({% for value in row %}{{ sql_string(value) }}{% if not loop.last %}, {% endif %}{% endfor %})
        {%- if not loop.last %},{% endif %}
        {% endfor -%}
    ) as t ({{ columns | join(', ') }})
    {%- else -%}
    select {% for col in columns %}cast(null as varchar) as {{ col }}{% if not loop.last %}, {% endif %}{% endfor %}
    where false
    {%- endif -%}
{%- endmacro %}
