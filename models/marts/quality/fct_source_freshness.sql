{#- One row per source table declared in the wattlake_freshness var of
    dbt_project.yml (the same thresholds as the sources' dbt freshness config).
    A new source plugs in by adding its entry there: nothing changes here. -#}
{%- set tables = wattlake.freshness_tables() -%}

with

-- the linter cannot lay out SQL that a Jinja loop repeats
-- noqa: disable=LT02
{% for table in tables %}
    {{ table.cte }} as (
        select * from {{ ref(table.spec['model']) }}
    ),
{% endfor %}

declared as (
    {% for table in tables %}
        select
            '{{ table.source_name }}' as source_name,
            '{{ table.table_name }}' as table_name,
            {{ wattlake.freshness_hours_literal(table.warn_after_hours) }}
                as warn_after_hours,
            {{ wattlake.freshness_hours_literal(table.error_after_hours) }}
                as error_after_hours
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

batches as (
    {% for table in tables %}
        select
            '{{ table.source_name }}' as source_name,
            '{{ table.table_name }}' as table_name,
            {{ table.cte }}.batch_id,
            max({{ table.cte }}.received_at_utc) as received_at_utc,
            max({{ wattlake.freshness_data_timestamp(table.spec, table.cte) }})
                as latest_data_at_utc,
            count(*) as row_count
        from {{ table.cte }}
        group by {{ table.cte }}.batch_id
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
),
-- noqa: enable=LT02

batches_ranked as (
    select
        batches.source_name,
        batches.table_name,
        batches.batch_id,
        batches.received_at_utc,
        row_number() over (
            partition by batches.source_name, batches.table_name
            order by batches.received_at_utc desc, batches.batch_id desc
        ) as recency_rank
    from batches
),

table_totals as (
    select
        batches.source_name,
        batches.table_name,
        max(batches.latest_data_at_utc) as latest_data_at_utc,
        sum(batches.row_count) as row_count,
        count(*) as batch_count
    from batches
    group by batches.source_name, batches.table_name
),

aged as (
    select
        declared.source_name,
        declared.table_name,
        last_batches.batch_id as last_batch_id,
        last_batches.received_at_utc as last_received_at_utc,
        table_totals.latest_data_at_utc,
        coalesce(table_totals.row_count, 0) as row_count,
        coalesce(table_totals.batch_count, 0) as batch_count,
        declared.warn_after_hours,
        declared.error_after_hours,
        {{ wattlake.freshness_checked_at() }} as checked_at_utc,
        {{ dbt.datediff(
            'last_batches.received_at_utc',
            wattlake.freshness_checked_at(),
            'minute'
        ) }} / 60.0 as hours_since_last_received
    from declared
    left join batches_ranked as last_batches
        on
            declared.source_name = last_batches.source_name
            and declared.table_name = last_batches.table_name
            and last_batches.recency_rank = 1
    left join table_totals
        on
            declared.source_name = table_totals.source_name
            and declared.table_name = table_totals.table_name
),

final as (
    select
        aged.source_name,
        aged.table_name,
        aged.last_batch_id,
        aged.last_received_at_utc,
        aged.latest_data_at_utc,
        cast(aged.row_count as {{ dbt.type_bigint() }}) as row_count,
        cast(aged.batch_count as {{ dbt.type_int() }}) as batch_count,
        cast(aged.hours_since_last_received as {{ wattlake.type_double() }})
            as hours_since_last_received,
        aged.warn_after_hours,
        aged.error_after_hours,
        -- the rule of dbt source freshness: warn past warn_after, stale past
        -- error_after; a table with nothing landed is stale
        case
            when aged.last_received_at_utc is null then 'stale'
            when aged.hours_since_last_received > aged.error_after_hours then 'stale'
            when aged.hours_since_last_received > aged.warn_after_hours then 'warn'
            else 'fresh'
        end as freshness_status,
        aged.checked_at_utc
    from aged
)

select * from final
