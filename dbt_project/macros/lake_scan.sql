{#
  Read one endpoint of the Parquet lake: raw/<source>/<endpoint>/**/*.parquet, as exactly the columns
  and types declared for that source table in its sources yml (in their order).
  Registers the dbt source (so Dagster draws lineage from the extract asset). A declared column the
  files lack altogether (Parquet written before the connector added it) reads as a typed null, as it
  already does in the files that lack it when others have it (union_by_name); a struct gains a missing
  field the same way, by name. When nothing has been extracted yet for that endpoint, the relation is
  empty, with the declared columns, instead of failing on an empty glob.
#}
{% macro lake_scan(source_name, endpoint) -%}
    {%- set relation = source(source_name, endpoint) -%}
    {%- set pattern = var('lake_root') ~ '/raw/' ~ source_name ~ '/' ~ endpoint ~ '/**/*.parquet' -%}
    {%- set scan = 'read_parquet(' ~ sql_string(pattern) ~ ', hive_partitioning = false, union_by_name = true)' -%}
    {%- set columns = lake_source_columns(source_name, endpoint) -%}
    {%- set found = 0 -%}
    {%- set present = [] -%}
    {%- if execute -%}
        {%- set found = run_query("select count(*) from glob(" ~ sql_string(pattern) ~ ")").columns[0].values()[0] -%}
        {%- if found > 0 -%}
            {%- set described = run_query("select column_name from (describe select * from " ~ scan ~ ")") -%}
            {%- set present = described.columns[0].values() -%}
        {%- endif -%}
    {%- endif -%}
    {%- set late = lake_late_columns(source_name, endpoint) -%}
    {%- for name in columns if found > 0 and name not in present and name not in late %}
        {{ exceptions.raise_compiler_error('source ' ~ source_name ~ '.' ~ endpoint ~ ': no Parquet file has column '
            ~ name ~ ' (only columns marked meta.added_later may be missing from older files)') }}
    {%- endfor %}
    (select {% for name, type in columns.items() -%}
        cast({{ '"' ~ name ~ '"' if name in present else 'null' }} as {{ type }}) as "{{ name }}"
        {%- if not loop.last %}, {% endif %}
    {%- endfor %} from {% if found > 0 %}{{ scan }}{% else %}(select 1) where false{% endif %})
{%- endmacro %}

{#
  Column name -> data_type of one source table, as declared in its sources yml. The graph is only
  filled at execution time; while parsing, a placeholder column keeps the SQL well formed.
#}
{% macro lake_source_columns(source_name, endpoint) -%}
    {%- if not execute -%}
        {{ return({'_unparsed': 'varchar'}) }}
    {%- endif -%}
    {%- set node = graph.sources.get('source.' ~ project_name ~ '.' ~ source_name ~ '.' ~ endpoint) -%}
    {%- set columns = {} -%}
    {%- set label = 'source ' ~ source_name ~ '.' ~ endpoint -%}
    {%- for name, column in (node.columns if node else {}).items() -%}
        {%- if not column.data_type -%}
            {{ exceptions.raise_compiler_error(label ~ ': column ' ~ name ~ ' has no data_type') }}
        {%- endif -%}
        {%- do columns.update({name: column.data_type}) -%}
    {%- endfor -%}
    {%- if not columns -%}
        {{ exceptions.raise_compiler_error(label ~ ' declares no columns in its sources yml') }}
    {%- endif -%}
    {{ return(columns) }}
{%- endmacro %}


{#
  Columns of a source added after its first Parquet files were written (meta: {added_later: true} in the
  sources yml): these alone may be missing from every file and then read as typed nulls.
#}
{% macro lake_late_columns(source_name, endpoint) -%}
    {%- set key = 'source.' ~ project_name ~ '.' ~ source_name ~ '.' ~ endpoint -%}
    {%- set node = graph.sources.get(key) if execute else none -%}
    {%- set late = [] -%}
    {%- for name, column in (node.columns if node else {}).items() if (column.meta or {}).get('added_later') -%}
        {%- do late.append(name) -%}
    {%- endfor -%}
    {{ return(late) }}
{%- endmacro %}
