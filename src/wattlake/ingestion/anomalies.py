"""Unusual usage injected into simulated readings, with its ground truth.

The plan is drawn once for the whole period (rates per meter per year from the
city file); each simulated day then applies the part of every event that falls
in it and adds up the energy it changed. Events on one site never overlap.

| type        | what the meter shows                                   |
|-------------|--------------------------------------------------------|
| spike       | 1-3 intervals far above normal                         |
| dip         | 3-12 hours at 5-30 % of normal                         |
| stuck       | 12-72 hours of one repeated value (a flatline)         |
| zero_run    | 2-48 hours of zeros (an outage or a failed meter)      |
| drift       | 7-21 days creeping up to +40-100 % (a faulty machine)  |
|             | (on a home: an appliance's load growing to 40-100 %    |
|             | of the home's mean, added to every interval)           |
| night_load  | 5-20 nights with extra load 22:00-06:00 (left on)      |
| level_shift | 14-60 days at x1.4-1.8 or x0.4-0.65                    |
| negative    | 2-24 hours of negative values from a faulty meter      |
| clock_skew  | 1-7 days with timestamps 30 or 60 minutes off          |

Spikes and dips happen on sites with machines and steady loads, never on
homes: a home's kettle, oven or car charger already does both every day, so
neither a person nor a detector could tell such an event from normal use.
Negative values only come from meters that are not net meters.

On other sites a drift scales all use up, as a machine that dominates the
load does as it wears. A home's load is its appliances, and scaling all of
them up (the kettle, the oven, the car charger) is no fault a home can have:
a failing appliance (a fridge whose compressor no longer stops, a heater
whose thermostat sticks) adds a load of its own, day and night, growing as
it fails. A home's drift is that added load.

`excess_kwh` is what the event added to the meter's true energy (negative
when it removed energy); a clock skew moves energy in time and adds none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pyarrow as pa

from wattlake.ingestion.city import ANOMALY_TYPES, City
from wattlake.ingestion.load import DayClock
from wattlake.ingestion.sites import Sites

# (shortest, longest) duration in hours
DURATION_HOURS = {
    "spike": (0.25, 0.75),
    "dip": (3, 12),
    "stuck": (12, 72),
    "zero_run": (2, 48),
    "drift": (7 * 24, 21 * 24),
    "night_load": (5 * 24, 20 * 24),
    "level_shift": (14 * 24, 60 * 24),
    "negative": (2, 24),
    "clock_skew": (24, 7 * 24),
}


@dataclass
class AnomalyPlan:
    """All events of the period, as arrays (one element per event)."""

    site_index: np.ndarray
    anomaly_type: np.ndarray
    start_utc: np.ndarray  # datetime64[s]
    end_utc: np.ndarray  # datetime64[s], exclusive
    magnitude: np.ndarray  # type-specific, see apply_anomalies
    added_load: np.ndarray  # bool: a drift that adds a growing load (a home's)
    excess_kwh: np.ndarray  # filled in day by day
    interval_count: np.ndarray

    def overlapping(self, first: np.datetime64, end: np.datetime64) -> np.ndarray:
        """Indexes of the events overlapping [first, end)."""
        return np.flatnonzero((self.start_utc < end) & (self.end_utc > first))

    def add(self, other: AnomalyPlan) -> None:
        """Add the excess and interval counts measured in another copy of the plan."""
        self.excess_kwh += other.excess_kwh
        self.interval_count += other.interval_count


def plan_anomalies(
    city: City,
    sites: Sites,
    first_day: date,
    days: int,
    interval_minutes: int,
    seed: int,
) -> AnomalyPlan:
    """Draw every event of the period; none overlap on one site."""
    rng = np.random.default_rng([seed, 5])
    step = np.timedelta64(interval_minutes * 60, "s")
    period_start = np.datetime64(first_day.isoformat(), "s")
    period_end = np.datetime64((first_day + timedelta(days=days)).isoformat(), "s")
    # clock skews stay off the first and last day: they would move readings
    # out of the period
    inner_start, inner_end = (
        period_start + np.timedelta64(1, "D"),
        period_end - np.timedelta64(1, "D"),
    )
    years = days / 365.25
    net = sites.is_net_metered
    # see the module docstring for who is eligible
    eligible_sites = {
        "negative": np.flatnonzero(~net),
        "spike": np.flatnonzero(sites.site_type != "home"),
        "dip": np.flatnonzero(sites.site_type != "home"),
    }
    taken: dict[int, list[tuple[np.datetime64, np.datetime64]]] = {}
    rows: list[tuple[int, str, np.datetime64, np.datetime64, float, bool]] = []
    is_home = sites.site_type == "home"
    mean_interval_kwh = sites.mean_kw * interval_minutes / 60.0
    for kind in ANOMALY_TYPES:
        count = rng.poisson(city.anomaly_rates[kind] * sites.count * years)
        eligible = eligible_sites.get(kind, np.arange(sites.count))
        low, high = (
            (inner_start, inner_end)
            if kind == "clock_skew"
            else (period_start, period_end)
        )
        if eligible.size == 0 or high - low < np.timedelta64(2, "h"):
            continue
        span = int((high - low) / step)
        for _ in range(count):
            for _attempt in range(5):
                site = int(rng.choice(eligible))
                hours = rng.uniform(*DURATION_HOURS[kind])
                length = max(1, int(round(hours * 60 / interval_minutes)))
                start = low + int(rng.integers(0, max(span - 1, 1))) * step
                end = min(start + length * step, high)
                if all(end <= s or start >= e for s, e in taken.get(site, [])):
                    taken.setdefault(site, []).append((start, end))
                    added = kind == "drift" and bool(is_home[site])
                    magnitude = _magnitude(kind, rng, mean_interval_kwh[site], added)
                    rows.append((site, kind, start, end, magnitude, added))
                    break
    rows.sort(key=lambda row: (row[2], row[0], row[1]))
    size = len(rows)
    return AnomalyPlan(
        site_index=np.array([r[0] for r in rows], dtype=np.int64),
        anomaly_type=np.array([r[1] for r in rows], dtype=object),
        start_utc=np.array([r[2] for r in rows], dtype="datetime64[s]"),
        end_utc=np.array([r[3] for r in rows], dtype="datetime64[s]"),
        magnitude=np.array([r[4] for r in rows], dtype=float),
        added_load=np.array([r[5] for r in rows], dtype=bool),
        excess_kwh=np.zeros(size),
        interval_count=np.zeros(size, dtype=np.int64),
    )


def _magnitude(
    kind: str, rng: np.random.Generator, mean_interval_kwh: float, added_load: bool
) -> float:
    if kind == "spike":
        return rng.uniform(6.0, 14.0) * mean_interval_kwh  # kWh added per interval
    if kind == "dip":
        return rng.uniform(0.05, 0.3)  # factor
    if kind == "stuck":
        return round(rng.uniform(0.5, 1.5) * mean_interval_kwh, 4)  # the repeated kWh
    if kind == "drift":
        share = rng.uniform(0.4, 1.0)  # extra share reached at the end
        # a home's: the kWh its failing appliance adds per interval at the end
        return share * mean_interval_kwh if added_load else share
    if kind == "night_load":
        return rng.uniform(0.5, 1.2) * mean_interval_kwh  # kWh added per night interval
    if kind == "level_shift":
        return rng.uniform(1.4, 1.8) if rng.random() < 0.5 else rng.uniform(0.4, 0.65)
    if kind == "clock_skew":
        return float(rng.choice([-60, -30, 30, 60]))  # minutes
    return 0.0  # zero_run, negative


def apply_anomalies(
    plan: AnomalyPlan,
    energy: np.ndarray,
    members: np.ndarray,
    clock: DayClock,
) -> np.ndarray:
    """Apply the events falling in this day to `energy` (in place).

    Returns:
        The clock skew of every cell in minutes (members x intervals; mostly 0),
        for the delivery to shift the timestamps it writes.
    """
    skew = np.zeros(energy.shape, dtype=np.int64)
    step = np.timedelta64(clock.interval_minutes * 60, "s")
    starts = clock.starts_utc
    row_of = {int(site): row for row, site in enumerate(members)}
    for event in plan.overlapping(starts[0], starts[-1] + step):
        row = row_of.get(int(plan.site_index[event]))
        if row is None:
            continue
        cells = (starts >= plan.start_utc[event]) & (starts < plan.end_utc[event])
        if not cells.any():
            continue
        kind = plan.anomaly_type[event]
        magnitude = plan.magnitude[event]
        before = energy[row, cells].copy()
        if kind == "spike":
            energy[row, cells] += magnitude
        elif kind in ("dip", "level_shift"):
            energy[row, cells] *= magnitude
        elif kind == "stuck":
            energy[row, cells] = magnitude
        elif kind == "zero_run":
            energy[row, cells] = 0.0
        elif kind == "drift":
            duration = (plan.end_utc[event] - plan.start_utc[event]) / np.timedelta64(
                1, "s"
            )
            progress = (
                (starts[cells] - plan.start_utc[event])
                / np.timedelta64(1, "s")
                / duration
            )
            if plan.added_load[event]:
                energy[row, cells] += magnitude * progress
            else:
                energy[row, cells] *= 1.0 + magnitude * progress
        elif kind == "night_load":
            hours = clock.local_hour[cells]
            energy[row, cells] += np.where((hours >= 22) | (hours < 6), magnitude, 0.0)
        elif kind == "negative":
            energy[row, cells] = -np.abs(energy[row, cells])
        elif kind == "clock_skew":
            skew[row, cells] = int(magnitude)
        plan.excess_kwh[event] += float((energy[row, cells] - before).sum())
        plan.interval_count[event] += int(cells.sum())
    return skew


def truth_table(
    plan: AnomalyPlan, sites: Sites, meter_at_start: np.ndarray
) -> pa.Table:
    """The ground truth of the anomalies, one row per event."""
    return pa.table(
        {
            "anomaly_id": pa.array(np.arange(1, len(plan.site_index) + 1), pa.int64()),
            "anomaly_type": pa.array(plan.anomaly_type.astype(str), pa.string()),
            "site_id": pa.array(
                sites.site_id[plan.site_index].astype(str), pa.string()
            ),
            "meter_id": pa.array(meter_at_start.astype(str), pa.string()),
            "start_utc": pa.array(
                plan.start_utc.astype("datetime64[us]"), pa.timestamp("us", tz="UTC")
            ),
            "end_utc": pa.array(
                plan.end_utc.astype("datetime64[us]"), pa.timestamp("us", tz="UTC")
            ),
            "magnitude": pa.array(plan.magnitude, pa.float64()),
            "excess_kwh": pa.array(np.round(plan.excess_kwh, 4), pa.float64()),
            "interval_count": pa.array(plan.interval_count, pa.int64()),
        }
    )
