-- The Spark job's features, one row per meter and UTC hour, as written (the
-- job already types them): an empty relation before the job has run.
with

source as (
    select * from {{ wattlake.delivered_source('curated', 'anomaly_features') }}
),

final as (
    select
        source.meter_id,
        source.site_id,
        source.site_type,
        source.area_id,
        source.hour_start_utc,
        source.hour_start_local,
        source.local_date,
        source.energy_kwh,
        source.interval_count,
        source.minutes_reported,
        source.min_interval_kwh,
        source.max_interval_kwh,
        source.zero_interval_count,
        source.expected_kwh,
        source.residual_kwh,
        source.mad_kwh,
        source.robust_zscore,
        source.mean_24h_kwh,
        source.stddev_24h_kwh,
        source.mean_7d_kwh,
        source.stddev_7d_kwh,
        source.max_interval_ratio,
        source.flat_run_hours,
        source.zero_run_hours,
        source.day_kwh,
        source.expected_day_kwh,
        source.day_ratio,
        source.night_kwh_per_hour,
        source.usual_night_kwh_per_hour,
        source.night_ratio,
        source.drift_slope_per_day,
        source.level_shift_ratio,
        source.air_temperature_c,
        source.heating_degrees,
        source.cooling_degrees,
        source.temperature_expected_kwh,
        source.temperature_residual_kwh,
        source.kwh_per_m2,
        source.peer_percentile,
        source.peer_day_ratio,
        source.peer_site_count,
        source.reading_date
    from source
)

select * from final
