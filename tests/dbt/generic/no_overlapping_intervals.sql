{#- Fails with every row whose validity interval [lower_bound, upper_bound)
    overlaps the next interval of the same key (ordered by lower_bound), or is
    empty or reversed. A null upper bound is open-ended: only the key's last
    interval may have one. Use it on SCD type 2 tables (valid_from / valid_to). -#}
{% test no_overlapping_intervals(model, partition_by, lower_bound, upper_bound) %}
    {%- set keys = partition_by if partition_by is not string else [partition_by] -%}
    with

    intervals as (
        select
            {% for key in keys %}{{ key }},{% endfor %}
            {{ lower_bound }} as lower_bound,
            {{ upper_bound }} as upper_bound,
            lead({{ lower_bound }}) over (
                partition by {{ keys | join(', ') }}
                order by {{ lower_bound }}
            ) as next_lower_bound
        from {{ model }}
    )

    select *
    from intervals
    where
        lower_bound is null
        or (upper_bound is not null and upper_bound <= lower_bound)
        or (
            next_lower_bound is not null
            and (upper_bound is null or next_lower_bound < upper_bound)
        )
{% endtest %}
