"""The load model: energy of every meter for every interval of one local day.

Per site and interval (kWh):

    energy = hours x (base + activity x shape(local time, day kind) x noise)
           + hours x (heating(T) + cooling(T) x occupancy)
           + bursts (kettles, ovens, machines) + EV charging - rooftop solar

`shape` is the site type's hourly activity (weekday, Saturday, Sunday or public
holiday; schools also close in school holidays), shifted per site; `noise` is
an AR(1) process on the log scale, so usage changes gradually; `T` is the
area's simulated air temperature. Everything is vectorised over meters and
intervals; one local day of one time zone is one call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from wattlake.ingestion.sites import PROFILES, Sites
from wattlake.ingestion.weather import Weather, solar_elevation_sine

# School holidays (month, day) ranges, inclusive, in the city's calendar.
SCHOOL_HOLIDAYS = (
    ((1, 1), (1, 5)),
    ((2, 16), (2, 22)),
    ((4, 5), (4, 21)),
    ((5, 24), (5, 31)),
    ((7, 22), (9, 2)),
    ((10, 25), (11, 2)),
    ((12, 20), (12, 31)),
)


@dataclass(frozen=True)
class DayClock:
    """The intervals of one local day in one time zone."""

    day: date
    starts_utc: np.ndarray  # datetime64[s], one per interval
    local_hour: np.ndarray  # wall-clock hour as a float (e.g. 13.25), per interval
    utc_offset_s: np.ndarray  # the zone's UTC offset at each interval, seconds
    interval_minutes: int

    @property
    def hours(self) -> float:
        """Length of one interval in hours."""
        return self.interval_minutes / 60.0


def day_clock(day: date, time_zone: str, interval_minutes: int) -> DayClock:
    """Every interval of a local day: 23 h, 24 h or 25 h of them at DST changes."""
    zone = ZoneInfo(time_zone)
    start = datetime(day.year, day.month, day.day, tzinfo=zone)
    following = day + timedelta(days=1)
    end = datetime(following.year, following.month, following.day, tzinfo=zone)
    first = int(start.timestamp())
    step = interval_minutes * 60
    seconds = np.arange(first, int(end.timestamp()), step, dtype=np.int64)
    # a day has at most two UTC offsets: find them at the ends
    offset_start = start.utcoffset().total_seconds()
    offset_end = (
        datetime.fromtimestamp(int(seconds[-1]), zone).utcoffset().total_seconds()
    )
    if offset_start == offset_end:
        offsets = np.full(seconds.size, offset_start)
    else:
        offsets = np.array(
            [
                datetime.fromtimestamp(int(s), zone).utcoffset().total_seconds()
                for s in seconds
            ]
        )
    local = ((seconds + offsets) % 86400) / 3600.0
    return DayClock(
        day,
        seconds.astype("datetime64[s]"),
        local,
        offsets.astype(np.int64),
        interval_minutes,
    )


def day_kind(day: date, holidays: set[date]) -> str:
    """weekday, saturday or sunday (public holidays count as Sundays)."""
    if day in holidays or day.weekday() == 6:
        return "sunday"
    return "saturday" if day.weekday() == 5 else "weekday"


def is_school_holiday(day: date) -> bool:
    """Whether schools are closed for the holidays on this day."""
    key = (day.month, day.day)
    return any(first <= key <= last for first, last in SCHOOL_HOLIDAYS)


def _shapes(site_type: np.ndarray, kind: str, school_closed: bool) -> np.ndarray:
    """Hourly activity (sites x 25, the 25th repeating hour 0 for interpolation)."""
    rows = {}
    for name, profile in PROFILES.items():
        hours = getattr(profile, kind)
        if name == "school" and school_closed:
            hours = profile.sunday
        rows[name] = np.array((*hours, hours[0]))
    return np.stack([rows[t] for t in site_type])


def simulate_day(
    sites: Sites,
    members: np.ndarray,
    clock: DayClock,
    weather: Weather,
    holidays: set[date],
    rng: np.random.Generator,
) -> np.ndarray:
    """Energy in kWh of each member site (rows) for each interval (columns)."""
    count = members.size
    intervals = clock.starts_utc.size
    hours = clock.hours
    kind = day_kind(clock.day, holidays)
    site_type = sites.site_type[members]

    # activity shape, shifted per site and linearly interpolated between hours
    shapes = _shapes(site_type, kind, is_school_holiday(clock.day) or kind != "weekday")
    weekday_shapes = _shapes(site_type, "weekday", False)
    position = (clock.local_hour[None, :] - sites.shift_hours[members, None]) % 24.0
    low = np.floor(position).astype(np.int64)
    weight = position - low
    rows = np.arange(count)[:, None]
    shape = shapes[rows, low] * (1 - weight) + shapes[rows, low + 1] * weight
    shape /= weekday_shapes[:, :24].mean(axis=1, keepdims=True)  # a weekday averages 1

    mean_kw = sites.mean_kw[members, None]
    base = sites.base_share[members, None]
    day_factor = sites.weekend_factor[members, None] if kind != "weekday" else 1.0
    # noise: AR(1) on the log scale, interval to interval
    phi = sites.noise_phi[members, None]
    sigma = sites.noise_sigma[members, None]
    shocks = rng.standard_normal((count, intervals)) * sigma * np.sqrt(1 - phi**2)
    noise = np.empty((count, intervals))
    noise[:, 0] = rng.standard_normal(count) * sigma[:, 0]
    for step in range(1, intervals):
        noise[:, step] = phi[:, 0] * noise[:, step - 1] + shocks[:, step]
    lognormal = np.exp(noise - sigma**2 / 2)  # mean 1
    power = mean_kw * (base + (1 - base) * shape * day_factor * lognormal)

    # weather: heating all day, cooling mostly while the site is busy
    temperature = weather.at(sites.area_index[members], clock.starts_utc)
    heating = sites.heating_kw_per_c[members, None] * np.maximum(
        sites.heating_below_c[members, None] - temperature, 0
    )
    occupancy = np.clip(shape / 1.2, 0.3, 1.0)
    cooling = (
        sites.cooling_kw_per_c[members, None]
        * np.maximum(temperature - sites.cooling_above_c[members, None], 0)
        * occupancy
    )
    energy = (power + heating + cooling) * hours

    _add_bursts(energy, sites, members, shape, mean_kw[:, 0] * hours, rng)
    _add_ev_charging(energy, sites, members, clock, kind, rng)
    _subtract_solar(energy, sites, members, clock, rng)
    return energy


def _add_bursts(
    energy: np.ndarray,
    sites: Sites,
    members: np.ndarray,
    shape: np.ndarray,
    mean_interval_kwh: np.ndarray,
    rng: np.random.Generator,
) -> None:
    """Short bursts (a kettle, an oven, a machine starting), more likely when busy."""
    count, intervals = energy.shape
    bursts = rng.poisson(sites.spikes_per_day[members] * intervals / 96.0)
    total = int(bursts.sum())
    if total == 0:
        return
    owner = np.repeat(np.arange(count), bursts)
    # pick the interval by the site's activity: inverse CDF of its shape
    cumulative = np.cumsum(shape, axis=1)
    cumulative /= cumulative[:, -1:]
    draws = rng.random(total)
    slot = np.minimum(_searchsorted_rows(cumulative, owner, draws), intervals - 1)
    low, high = sites.spike_size[members][owner], sites.spike_size[members][owner] * 1.6
    size = rng.uniform(low, high) * mean_interval_kwh[owner]
    # an appliance runs for a while: spread each burst over 1 to 6 intervals
    length = rng.integers(1, 7, total)
    cell_owner = np.repeat(owner, length)
    cell_slot = np.minimum(np.repeat(slot, length) + _ranks(length), intervals - 1)
    np.add.at(energy, (cell_owner, cell_slot), np.repeat(size / length, length))


def _ranks(lengths: np.ndarray) -> np.ndarray:
    """0, 1, ..., n-1 for each n in `lengths`, concatenated."""
    starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    return np.arange(int(lengths.sum())) - starts


def _searchsorted_rows(
    cumulative: np.ndarray, owner: np.ndarray, draws: np.ndarray
) -> np.ndarray:
    """`searchsorted` of each draw in its owner's row of a matrix of CDFs (in [0, 1])."""
    offsets = np.arange(cumulative.shape[0])[:, None] * 2.0
    flat = (cumulative + offsets).ravel()
    return np.searchsorted(flat, draws + owner * 2.0) - owner * cumulative.shape[1]


def _add_ev_charging(
    energy: np.ndarray,
    sites: Sites,
    members: np.ndarray,
    clock: DayClock,
    kind: str,
    rng: np.random.Generator,
) -> None:
    """Evening charging sessions of homes with an electric car."""
    chargers = np.flatnonzero(sites.ev_kw[members] > 0)
    if chargers.size == 0:
        return
    probability = 0.45 if kind == "weekday" else 0.3
    charging = chargers[rng.random(chargers.size) < probability]
    if charging.size == 0:
        return
    power = sites.ev_kw[members][charging]
    need_kwh = rng.uniform(6.0, 28.0, charging.size)
    start_hour = np.clip(rng.normal(18.8, 1.3, charging.size), 15.0, 22.5)
    end_hour = np.minimum(start_hour + need_kwh / power, 24.0)
    hour = clock.local_hour[None, :]
    step = clock.hours
    # the share of each interval the car is charging
    overlap = np.clip(
        np.minimum(hour + step, end_hour[:, None])
        - np.maximum(hour, start_hour[:, None]),
        0.0,
        step,
    )
    energy[charging] += overlap * power[:, None]


def _subtract_solar(
    energy: np.ndarray,
    sites: Sites,
    members: np.ndarray,
    clock: DayClock,
    rng: np.random.Generator,
) -> None:
    """Rooftop solar: net meters read consumption minus generation (can be negative)."""
    panels = np.flatnonzero(sites.pv_kwp[members] > 0)
    if panels.size == 0:
        return
    middle = clock.starts_utc + np.timedelta64(clock.interval_minutes * 30, "s")
    elevation = solar_elevation_sine(
        sites.latitude[members][panels], sites.longitude[members][panels], middle
    )
    clear_sky = np.maximum(elevation, 0.0) ** 1.15
    cloud = rng.beta(2.2, 1.4, (panels.size, 1)) * rng.uniform(
        0.8, 1.0, (panels.size, clear_sky.shape[1])
    )
    generation_kw = 0.8 * sites.pv_kwp[members][panels, None] * clear_sky * cloud
    energy[panels] -= generation_kw * clock.hours
