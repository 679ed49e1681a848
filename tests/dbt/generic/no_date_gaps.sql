{#- Fails with every date whose next date in the column is not the day after:
    a gap (a missing day) or a repeated date. The calendar has every day once. -#}
{% test no_date_gaps(model, column_name) %}
    with

    ordered as (
        select
            {{ column_name }} as date_value,
            lead({{ column_name }}) over (order by {{ column_name }}) as next_date_value
        from {{ model }}
    )

    select *
    from ordered
    where
        ordered.next_date_value is not null
        and {{ dbt.datediff('ordered.date_value', 'ordered.next_date_value', 'day') }} <> 1
{% endtest %}
