{% macro money(expression) -%}
    cast({{ expression }} as decimal(18, 2))
{%- endmacro %}
