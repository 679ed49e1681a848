{#- Every landed row is accounted for, batch by batch:
        landed = kept in the model + quarantined + superseded duplicates.
    A superseded duplicate is a usable row (in `usable`, where `usable_condition`
    holds) whose key the model holds with another identity, i.e. another copy of
    the same reading was kept. Fails with one row per batch whose rows went
    missing or were counted twice. Put it on the model that keeps rows (clean
    readings); `landed` is the staging model of the raw rows.

    With `group_columns` (columns of both `usable` and the model, e.g. meter and
    UTC date) and `repeat_column` (the key's timestamp), only the groups where
    some usable key repeats are joined to look for superseded copies: a usable
    row of any other group has no other copy, so it cannot be superseded. On a
    city year this keeps the join to the few groups with copies. -#}
{% test accounts_for_every_row(model, landed, quarantined, usable, usable_condition, key_columns, identity_columns=['batch_id', 'source_line'], group_columns=none, repeat_column=none) %}

with

landed as (
    select
        landed.batch_id,
        count(*) as row_count
    from {{ landed }} as landed
    group by landed.batch_id
),

kept as (
    select
        kept.batch_id,
        count(*) as row_count
    from {{ model }} as kept
    group by kept.batch_id
),

quarantined as (
    select
        quarantined.batch_id,
        count(*) as row_count
    from {{ quarantined }} as quarantined
    group by quarantined.batch_id
),

{% if group_columns %}
repeating_groups as (
    select
        {% for column in group_columns -%}
            usable.{{ column }}{{ ',' if not loop.last }}
        {% endfor %}
    from {{ usable }} as usable
    where ({{ usable_condition }})
    group by
        {% for column in group_columns -%}
            usable.{{ column }}{{ ',' if not loop.last }}
        {% endfor %}
    having {{ wattlake.has_repeated_values('usable.' ~ repeat_column) }}
),
{% endif %}

superseded as (
    select
        usable.batch_id,
        count(*) as row_count
    from {{ usable }} as usable
    {% if group_columns -%}
        inner join repeating_groups
            on
                {% for column in group_columns -%}
                    {{ 'and ' if not loop.first }}usable.{{ column }} = repeating_groups.{{ column }}
                {% endfor %}
    {%- endif %}
    inner join {{ model }} as kept
        on
            {% for column in key_columns -%}
                {{ 'and ' if not loop.first }}usable.{{ column }} = kept.{{ column }}
            {% endfor %}
    where
        ({{ usable_condition }})
        and not (
            {% for column in identity_columns -%}
                {{ 'and ' if not loop.first }}usable.{{ column }} = kept.{{ column }}
            {% endfor %}
        )
    group by usable.batch_id
),

final as (
    select
        landed.batch_id,
        landed.row_count as landed_rows,
        coalesce(kept.row_count, 0) as kept_rows,
        coalesce(quarantined.row_count, 0) as quarantined_rows,
        coalesce(superseded.row_count, 0) as superseded_rows
    from landed
    left join kept
        on landed.batch_id = kept.batch_id
    left join quarantined
        on landed.batch_id = quarantined.batch_id
    left join superseded
        on landed.batch_id = superseded.batch_id
)

select * from final
where landed_rows <> kept_rows + quarantined_rows + superseded_rows

{% endtest %}
