{#- The rows a unit test gives a model's input, as SQL. Replaces dbt's own
    get_fixture_sql on DuckDB (where `make test` runs the unit tests): dbt's
    renders every cell through three macros (format_row, safe_cast,
    string_literal) and joins the rows with `union all`, which took 11 s of
    Jinja and a 4.9 MB query for a fixture of 2,400 rows x 13 columns. Here
    every value is a quoted literal of a VALUES list and each column is cast
    once, to the type of the input relation's column, as dbt does: the same
    rows, the same types. Other engines keep dbt's macro. -#}
{% macro get_fixture_sql(rows, column_name_to_data_types) -%}
    {{ return(adapter.dispatch('get_fixture_sql', 'wattlake')(rows, column_name_to_data_types)) }}
{%- endmacro %}

{% macro default__get_fixture_sql(rows, column_name_to_data_types) -%}
    {{ return(dbt.get_fixture_sql(rows, column_name_to_data_types)) }}
{%- endmacro %}

{% macro duckdb__get_fixture_sql(rows, column_name_to_data_types) -%}
{#- dbt 1.11 passes no types for a unit test's inputs: they are the relation's -#}
{%- if column_name_to_data_types %}
    {{ return(dbt.get_fixture_sql(rows, column_name_to_data_types)) }}
{%- endif %}
-- Fixture for {{ model.name }}
{%- set types = {} %}
{%- set quoted = {} %}
{%- set relation = defer_relation if (defer_relation and not load_relation(this)) else this %}
{%- for column in adapter.get_columns_in_relation(relation) %}
    {%- do types.update({column.name | lower: column.data_type}) %}
    {%- do quoted.update({column.name | lower: column.quoted}) %}
{%- endfor %}
{%- if not types %}
    {{ exceptions.raise_compiler_error("Not able to get columns for unit test '" ~ model.name ~ "' from relation " ~ this ~ " because the relation doesn't exist") }}
{%- endif %}
{{ validate_fixture_rows(rows, row_number) }}
{%- set names = types.keys() | list %}
{%- set lowered_rows = [] %}
{%- for row in rows %}
    {%- set lowered = {} %}
    {%- for name, value in row.items() %}
        {%- if name | lower not in types %}
            {{ exceptions.raise_compiler_error("Invalid column name: '" ~ name | lower ~ "' in unit test fixture for '" ~ model.name ~ "'.\nAccepted columns for '" ~ model.name ~ "' are: " ~ names) }}
        {%- endif %}
        {%- do lowered.update({name | lower: value}) %}
    {%- endfor %}
    {%- do lowered_rows.append(lowered) %}
{%- endfor %}
select
{%- for name in names %}
    {#- a string's length stripped, as dbt does (dbt-core GH-11974) #}
    {%- set data_type = types[name].split('(')[0] if 'varying' in types[name] else types[name] %}
    cast(fixture.c{{ loop.index }} as {{ data_type }}) as {{ quoted[name] }}{{ "," if not loop.last }}
{%- endfor %}
{%- if lowered_rows %}
from (values
{%- for row in lowered_rows %}
    ({% for name in names %}{% set value = row.get(name) %}{{ "null" if value is none else "'" ~ (value | string | replace("'", "''")) ~ "'" }}{{ ", " if not loop.last }}{% endfor %}){{ "," if not loop.last }}
{%- endfor %}
) as fixture({% for name in names %}c{{ loop.index }}{{ ", " if not loop.last }}{% endfor %})
{%- else %}
from (select {% for name in names %}null as c{{ loop.index }}{{ ", " if not loop.last }}{% endfor %}) as fixture
limit 0
{%- endif %}
{%- endmacro %}
