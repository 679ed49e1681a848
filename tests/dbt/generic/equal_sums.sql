{#- The model's column adds up to the same total as `to`'s, group by group:
    e.g. a daily mart holds exactly the energy of its hourly mart, day by day.
    Fails with one row per group missing on either side or differing by more
    than `tolerance`. -#}
{% test equal_sums(model, column_name, to, group_by, tolerance=0.001) %}
    {%- set keys = group_by | join(', ') -%}

with

model_sums as (
    select
        {{ keys }},
        sum({{ column_name }}) as total
    from {{ model }}
    group by {{ keys }}
),

other_sums as (
    select
        {{ keys }},
        sum({{ column_name }}) as total
    from {{ to }}
    group by {{ keys }}
),

final as (
    select
        {% for key in group_by -%}
            coalesce(model_sums.{{ key }}, other_sums.{{ key }}) as {{ key }},
        {% endfor -%}
        model_sums.total as model_total,
        other_sums.total as other_total
    from model_sums
    full outer join other_sums
        on
            {% for key in group_by -%}
                {{ 'and ' if not loop.first }}model_sums.{{ key }} = other_sums.{{ key }}
            {% endfor %}
)

select * from final
where
    model_total is null
    or other_total is null
    or abs(model_total - other_total) > {{ tolerance }}

{% endtest %}
