{#- Every landed row is accounted for, batch by batch:
        landed = kept in the model + quarantined + superseded duplicates.
    A superseded duplicate is a usable row (in `usable`, where `usable_condition`
    holds) whose key the model holds with another identity, i.e. another copy of
    the same reading was kept. Fails with one row per batch whose rows went
    missing or were counted twice. Put it on the model that keeps rows (clean
    readings); `landed` is the staging model of the raw rows. -#}
{% test accounts_for_every_row(model, landed, quarantined, usable, usable_condition, key_columns, identity_columns=['batch_id', 'source_line']) %}

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

superseded as (
    select
        usable.batch_id,
        count(*) as row_count
    from {{ usable }} as usable
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
