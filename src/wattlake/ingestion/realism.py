"""Realism metrics of household load, as measured on real smart-meter data.

The same definitions give, on the 100 London households of 2013 (30-minute
kWh), p10 / p50 / p90 across households: daily peak/mean 2.5 / 3.7 / 5.7;
weekend/weekday 0.90 / 1.03 / 1.24; night minimum / daily mean 0.10 / 0.30 /
0.58; annual kWh 1,288 / 3,383 / 7,053; lag-1 autocorrelation at 30 minutes
0.44 / 0.64 / 0.79. Simulated homes are compared on 30-minute sums.
"""

from __future__ import annotations

import pandas as pd

# (p10, p90) across London households, 2013; the range simulated homes must fall in.
LONDON_RANGES = {
    "peak_to_mean": (2.5, 5.7),
    "weekend_to_weekday": (0.90, 1.24),
    "night_min_to_mean": (0.10, 0.60),
    "annual_kwh": (1288.0, 7053.0),
    "lag1_autocorrelation": (0.44, 0.79),
}


def household_metrics(readings: pd.DataFrame) -> pd.DataFrame:
    """One row of metrics per meter.

    Args:
        readings: columns `meter_id`, `local_time` (naive wall-clock start of a
            30-minute interval) and `energy_kwh`, over whole local days.
    """
    frame = readings.assign(
        local_date=readings["local_time"].dt.normalize(),
        hour=readings["local_time"].dt.hour,
    )
    daily = frame.groupby(["meter_id", "local_date"])["energy_kwh"].agg(
        ["sum", "max", "mean", "count"]
    )
    daily = daily[daily["count"] >= 46]  # whole days only (46 to 50 half-hours)
    night_min = (
        frame[frame["hour"] < 6].groupby(["meter_id", "local_date"])["energy_kwh"].min()
    )
    ratios = daily.assign(
        peak=daily["max"] / daily["mean"],
        night=night_min.reindex(daily.index) / daily["mean"],
        weekend=daily.index.get_level_values("local_date").weekday >= 5,
    )
    per_meter = ratios.groupby("meter_id")
    by_kind = ratios.groupby(["meter_id", "weekend"])["sum"].mean().unstack()
    ordered = frame.sort_values(["meter_id", "local_time"])
    autocorrelation = ordered.groupby("meter_id")["energy_kwh"].apply(
        lambda s: s.autocorr(1)
    )
    return pd.DataFrame(
        {
            "peak_to_mean": per_meter["peak"].median(),
            "weekend_to_weekday": by_kind[True] / by_kind[False],
            "night_min_to_mean": per_meter["night"].median(),
            "annual_kwh": per_meter["sum"].mean() * 365.0,
            "lag1_autocorrelation": autocorrelation,
        }
    )


def summary(metrics: pd.DataFrame) -> pd.DataFrame:
    """p10 / p50 / p90 of each metric across meters."""
    return metrics.quantile([0.1, 0.5, 0.9]).T.rename(
        columns={0.1: "p10", 0.5: "p50", 0.9: "p90"}
    )


def share_inside(
    metrics: pd.DataFrame, ranges: dict[str, tuple[float, float]] = LONDON_RANGES
) -> pd.Series:
    """Share of meters whose metric lies inside the real p10-p90 range."""
    return pd.Series(
        {
            name: float(metrics[name].between(low, high).mean())
            for name, (low, high) in ranges.items()
        }
    )
