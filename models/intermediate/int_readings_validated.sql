{#- Every landed reading, typed, with the reason it cannot be used (null when it
    can) and the flags of a usable reading: estimated, late, an export of a net
    meter, or a local-time timestamp repaired on a DST day.

    Stored once, in the lake at clean/validated_readings/ by ingest date (the
    raw partition), as typed Parquet on DuckDB: validating a reading (parsing
    its text, the registry join, the checks) is the costly part of a city
    year, and its readers (the clean readings, the quarantine, source
    freshness, clock skews, the row accounting test) then scan typed columns
    instead of validating again.

    Incremental by ingest date: a run validates the ingest dates that hold a
    batch it has not seen, and those holding readings quarantined for what the
    registry said (unknown meter, site or time zone, a negative or implausible
    value) once the registry says otherwise of their meter or its site: such a
    reading keeps what the registry said when it was validated
    (registry_fingerprint), and only a batch holding one the registry now
    contradicts is read again. (A city year has quarantined negative readings
    on every ingest date: re-reading those batches on every run restated the
    whole year.) A batch's rows get this run's stamp (restated_at_utc) only
    when they may have changed: a new batch, or one re-read for the registry;
    the other batches of a re-read date keep theirs, so a late batch restates
    only its own reading dates in int_readings_cleaned. Duplicates are
    resolved there, across batches. -#}
{{ config(**wattlake.incremental_in_lake(
    'ingest_date', 'clean/validated_readings',
    sort=['ingest_date'], dist='even', publish=false
)) }}
-- the incremental branch lists the landed batches:
-- depends_on: {{ ref('stg_metering__readings') }}

{%- set registry_reasons = "('" ~ [
    'unknown_meter', 'unknown_site', 'unknown_time_zone', 'negative_energy', 'out_of_range'
] | join("', '") ~ "')" %}

{#- What the registry says of a reading's meter and its site, as checked below
    (all null for a meter it does not know): now, and when a reading was checked. -#}
{%- set registry_says = [] %}
{%- set registry_said = [] %}
{%- for column in ['meter_type', 'site_id', 'time_zone', 'max_plausible_demand_kw'] %}
    {%- do registry_says.append('registry.' ~ column) %}
    {%- do registry_said.append('checked.' ~ column) %}
{%- endfor %}

{%- set estimated_codes =
    "'" ~ var('wattlake_estimated_quality_codes') | join("', '") ~ "'" %}

{#- Every landed reading with what the registry says of its meter and site, and
    whether a timestamp without offset falls on a DST change day of the site's
    zone. Read twice below (the DST repair is a branch of its own), so it is a
    subquery written out twice rather than a CTE: DuckDB drops NOT MATERIALIZED
    when it stores a view, and would then hold a city year of this in memory. -#}
{%- set located -%}
select
    readings.meter_id,
    readings.reading_start_utc,
    readings.reading_start_has_offset,
    readings.interval_minutes,
    readings.energy_kwh,
    readings.quality_code,
    readings.batch_id,
    readings.source_file,
    readings.source_line,
    readings.received_at_utc,
    readings.ingest_date,
    readings.reading_start_as_delivered,
    readings.value_as_delivered,
    readings.unit_as_delivered,
    readings.raw_line,
    readings.parse_error,
    registry.meter_type,
    registry.meter_id as registered_meter_id,
    registry.site_id as registered_site_id,
    registry.time_zone,
    registry.max_plausible_demand_kw,
    -- a timestamp without offset on a DST change day of the site's zone:
    -- the head-end wrote local wall-clock time (UTC by contract otherwise)
    case
        when
            not readings.reading_start_has_offset
            and readings.reading_start_utc is not null
            and registry.time_zone is not null
            then {{ dbt.datediff(
                wattlake.local_to_utc('cast(readings.reading_start_utc as date)', 'registry.time_zone'),
                wattlake.local_to_utc(dbt.dateadd('day', 1, 'cast(readings.reading_start_utc as date)'), 'registry.time_zone'),
                'minute'
            ) }} <> 1440
        else false
    end as is_dst_shifted
from {{ ref('stg_metering__readings') }} as readings
left join registry
    on readings.meter_id = registry.meter_id
{% if is_incremental() %}
    where readings.ingest_date in (
        select pending_dates.ingest_date from pending_dates
    )
{% endif %}
{%- endset %}

with

meters as (
    select * from {{ ref('int_meters_deduplicated') }}
),

sites as (
    select * from {{ ref('int_sites_deduplicated') }}
),

site_types as (
    select * from {{ ref('site_types') }}
),

-- one row per registered meter with its site: the readings join it once
registry as (
    select
        meters.meter_id,
        meters.meter_type,
        sites.site_id,
        sites.time_zone,
        sites.floor_area_m2 * site_types.max_plausible_w_per_m2 / 1000.0
            as max_plausible_demand_kw
    from meters
    left join sites
        on meters.site_id = sites.site_id
    left join site_types
        on sites.site_type = site_types.site_type
),

-- the layout checker indents a Jinja block's CTEs differently in each branch
-- noqa: disable=LT02
{% if is_incremental() %}
-- batches earlier runs have validated, with their stamp
batch_stamps as (
    select
        known.batch_id,
        max(known.restated_at_utc) as restated_at_utc
    from {{ this }} as known
    group by known.batch_id
),

-- batches holding a reading quarantined for what the registry said of its
-- meter or site, which the registry now contradicts
contradicted_batches as (
    select distinct quarantined.batch_id
    from {{ this }} as quarantined
    left join registry
        on quarantined.meter_id = registry.meter_id
    -- the first condition reaches the scan: only quarantined readings join
    where
        quarantined.registry_fingerprint is not null
        and quarantined.registry_fingerprint
        <> {{ wattlake.attributes_fingerprint(registry_says) }}
),

known_batches as (
    select
        batch_stamps.batch_id,
        batch_stamps.restated_at_utc,
        case
            when contradicted_batches.batch_id is null then 0 else 1
        end as registry_says_otherwise
    from batch_stamps
    left join contradicted_batches
        on batch_stamps.batch_id = contradicted_batches.batch_id
),

landed_batches as (
    select distinct
        landed.batch_id,
        landed.ingest_date
    from {{ ref('stg_metering__readings') }} as landed
),

-- the ingest dates this run validates
pending_dates as (
    select landed_batches.ingest_date
    from landed_batches
    left join known_batches
        on landed_batches.batch_id = known_batches.batch_id
    where known_batches.batch_id is null
    union
    select landed_batches.ingest_date
    from landed_batches
    inner join known_batches
        on landed_batches.batch_id = known_batches.batch_id
    where known_batches.registry_says_otherwise = 1
),
{% endif %}
-- noqa: enable=LT02

-- Local-time readings on a DST day, moved to UTC. In the autumn the hour
-- 01:00-02:00 occurs twice: a meter's first copy of such a label (by line) is
-- the earlier instant, its second copy the later one.
dst_shifted as (
    select
        located.*,
        {{ wattlake.local_to_utc('located.reading_start_utc', 'located.time_zone') }}
            as local_candidate_utc,
        row_number() over (
            partition by located.batch_id, located.meter_id, located.reading_start_utc
            order by located.source_line
        ) as label_occurrence
    from ({{ located }}) as located
    -- the first condition is the cheap one: it reaches the scan, before the joins
    where not located.reading_start_has_offset and located.is_dst_shifted
),

dst_repaired as (
    select
        dst_shifted.*,
        case
            when
                {{ wattlake.local_timestamp(
                    dbt.dateadd('hour', -1, 'dst_shifted.local_candidate_utc'),
                    'dst_shifted.time_zone'
                ) }}
                = dst_shifted.reading_start_utc
                then {{ dbt.dateadd('hour', -1, 'dst_shifted.local_candidate_utc') }}
            else dst_shifted.local_candidate_utc
        end as first_occurrence_utc
    from dst_shifted
),

timed as (
    select
        located.*,
        located.reading_start_utc as reading_start_utc_repaired
    from ({{ located }}) as located
    -- never null: a reading is in exactly one of the two branches
    where not located.is_dst_shifted
    union all
    select
        dst_repaired.meter_id,
        dst_repaired.reading_start_utc,
        dst_repaired.reading_start_has_offset,
        dst_repaired.interval_minutes,
        dst_repaired.energy_kwh,
        dst_repaired.quality_code,
        dst_repaired.batch_id,
        dst_repaired.source_file,
        dst_repaired.source_line,
        dst_repaired.received_at_utc,
        dst_repaired.ingest_date,
        dst_repaired.reading_start_as_delivered,
        dst_repaired.value_as_delivered,
        dst_repaired.unit_as_delivered,
        dst_repaired.raw_line,
        dst_repaired.parse_error,
        dst_repaired.meter_type,
        dst_repaired.registered_meter_id,
        dst_repaired.registered_site_id,
        dst_repaired.time_zone,
        dst_repaired.max_plausible_demand_kw,
        dst_repaired.is_dst_shifted,
        case
            when
                dst_repaired.label_occurrence > 1
                and {{ wattlake.local_timestamp(
                    dbt.dateadd('hour', 1, 'dst_repaired.first_occurrence_utc'),
                    'dst_repaired.time_zone'
                ) }}
                = dst_repaired.reading_start_utc
                then {{ dbt.dateadd('hour', 1, 'dst_repaired.first_occurrence_utc') }}
            else dst_repaired.first_occurrence_utc
        end as reading_start_utc_repaired
    from dst_repaired
),

checked as (
    select
        timed.meter_id,
        timed.reading_start_utc_repaired as reading_start_utc,
        timed.interval_minutes,
        timed.energy_kwh,
        timed.quality_code,
        timed.batch_id,
        timed.source_file,
        timed.source_line,
        timed.received_at_utc,
        timed.ingest_date,
        timed.is_dst_shifted,
        coalesce(
            timed.received_at_utc > {{ dbt.dateadd(
                'minute',
                'timed.interval_minutes + ' ~ (var('wattlake_late_after_hours') * 60),
                'timed.reading_start_utc_repaired'
            ) }},
            false
        ) as is_late,
        case
            when timed.quality_code in ({{ estimated_codes }}) then true
            when timed.quality_code is null then false
            else
                upper({{ wattlake.trimmed('timed.quality_code') }})
                in ({{ estimated_codes }})
        end as is_estimated,
        timed.reading_start_as_delivered,
        timed.value_as_delivered,
        timed.unit_as_delivered,
        timed.raw_line,
        timed.parse_error,
        timed.meter_type,
        timed.registered_site_id as site_id,
        timed.time_zone,
        timed.max_plausible_demand_kw,
        case
            when timed.parse_error is not null then 'unparseable_line'
            when timed.meter_id is null then 'missing_meter_id'
            when timed.reading_start_utc is null then 'unparseable_timestamp'
            when
                timed.interval_minutes is null
                or timed.interval_minutes not in (5, 10, 15, 30, 60)
                then 'invalid_interval'
            when
                timed.unit_as_delivered is null
                or {{ wattlake.trimmed('timed.unit_as_delivered') }}
                not in ('kWh', 'Wh', 'kW')
                then 'unknown_unit'
            when timed.energy_kwh is null then 'unparseable_value'
            when timed.registered_meter_id is null then 'unknown_meter'
            -- a net meter's negative reading is an export; on any other it is a fault
            when
                timed.energy_kwh < 0 and timed.meter_type <> 'net'
                then 'negative_energy'
            when timed.registered_site_id is null then 'unknown_site'
            when timed.time_zone is null then 'unknown_time_zone'
            when
                abs(timed.energy_kwh) * 60.0 / timed.interval_minutes
                > timed.max_plausible_demand_kw
                then 'out_of_range'
        end as quarantine_reason
    from timed
),

final as (
    -- the columns in the order of the contract (docs, quarantine), not by kind
    select  -- noqa: ST06
        checked.meter_id,
        checked.reading_start_utc,
        cast(checked.reading_start_utc as date) as reading_date,
        checked.interval_minutes,
        checked.energy_kwh,
        checked.quality_code,
        checked.quarantine_reason,
        case
            when checked.quarantine_reason = 'negative_energy' then 'negative'
            when checked.quarantine_reason = 'out_of_range' then 'out_of_range'
            when checked.quarantine_reason is not null then 'invalid'
            when checked.is_dst_shifted then 'dst_shifted'
            when checked.is_late then 'late'
            when checked.energy_kwh < 0 then 'legitimate_export'
            when checked.is_estimated then 'estimated'
            else 'measured'
        end as quality_flag,
        checked.is_dst_shifted,
        checked.is_late,
        checked.is_estimated,
        checked.batch_id,
        checked.source_line,
        checked.received_at_utc,
        -- the text as delivered, for quarantined rows (the raw file has it for all)
        case
            when checked.quarantine_reason is not null then checked.source_file
        end as source_file,
        case
            when checked.quarantine_reason is not null
                then checked.reading_start_as_delivered
        end as reading_start_as_delivered,
        case
            when checked.quarantine_reason is not null then checked.value_as_delivered
        end as value_as_delivered,
        case
            when checked.quarantine_reason is not null then checked.unit_as_delivered
        end as unit_as_delivered,
        case
            when checked.quarantine_reason is not null then checked.raw_line
        end as raw_line,
        case
            when checked.quarantine_reason is not null then checked.parse_error
        end as parse_error,
        {% if is_incremental() -%}
            case
                when known_batches.registry_says_otherwise = 0
                    then known_batches.restated_at_utc
                else {{ wattlake.run_timestamp() }}
            end
        {%- else -%}
            {{ wattlake.run_timestamp() }}
        {%- endif %} as restated_at_utc,
        case
            when checked.quarantine_reason in {{ registry_reasons }}
                then {{ wattlake.attributes_fingerprint(registry_said) }}
        end as registry_fingerprint,
        -- the partition column goes last (Athena requires it)
        checked.ingest_date
    from checked
    {% if is_incremental() -%}
        left join known_batches
            on checked.batch_id = known_batches.batch_id
    {%- endif %}
)

select * from final
