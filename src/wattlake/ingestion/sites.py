"""The city's sites and meters, their load parameters and their registry history.

Each site gets its true type, area, floor area, position, name and address
(Faker), and the parameters of its load (see `wattlake.ingestion.load`). The
registry is what the city's records say: it can be wrong about a site's type
for a while (corrected later), and meters get replaced. Both are ground truth
for the evaluation and input for the dbt snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from faker import Faker

from wattlake.ingestion.city import SITE_TYPES, City


@dataclass(frozen=True)
class TypeProfile:
    """How a kind of site uses electricity; each site varies around it."""

    kwh_per_m2_year: float
    floor_area_m2: tuple[float, float]  # log-uniform range
    base_share: tuple[float, float]  # share of mean power that never switches off
    noise_sigma: tuple[float, float]  # log-scale interval noise
    noise_phi: tuple[float, float]  # interval-to-interval autocorrelation
    spikes_per_day: float  # short bursts (kettles, ovens, machines starting)
    spike_size: tuple[
        float, float
    ]  # a burst's energy, in multiples of mean interval energy
    heating_per_c: (
        float  # extra power per degree below `heating_below_c`, share of mean power
    )
    cooling_per_c: (
        float  # extra power per degree above `cooling_above_c` while occupied
    )
    heating_below_c: float  # balance points: busy buildings heat themselves
    cooling_above_c: float
    weekday: tuple[float, ...]  # 24 hourly activity factors, local time
    saturday: tuple[float, ...]
    sunday: tuple[float, ...]  # also public holidays (and school holidays for schools)


def _hours(night: float, spans: dict[tuple[int, int], float]) -> tuple[float, ...]:
    values = [night] * 24
    for (first, last), level in spans.items():
        for hour in range(first, last):
            values[hour] = level
    return tuple(values)


_HOME_WEEKDAY = (
    0.38,
    0.31,
    0.28,
    0.27,
    0.28,
    0.4,
    0.85,
    1.25,
    1.1,
    0.85,
    0.8,
    0.8,
    0.9,
    0.85,
    0.8,
    0.9,
    1.2,
    1.75,
    2.0,
    1.9,
    1.65,
    1.35,
    0.95,
    0.62,
)
_HOME_WEEKEND = (
    0.4,
    0.33,
    0.29,
    0.27,
    0.27,
    0.32,
    0.5,
    0.8,
    1.15,
    1.3,
    1.3,
    1.25,
    1.3,
    1.2,
    1.1,
    1.1,
    1.3,
    1.75,
    1.95,
    1.85,
    1.6,
    1.3,
    0.98,
    0.65,
)

PROFILES = {
    "home": TypeProfile(
        kwh_per_m2_year=25.0,
        floor_area_m2=(45, 220),
        base_share=(0.0, 0.28),
        noise_sigma=(0.3, 0.8),
        noise_phi=(0.85, 0.97),
        spikes_per_day=3.0,
        spike_size=(2.0, 14.0),
        heating_per_c=0.02,
        cooling_per_c=0.005,
        heating_below_c=15.5,
        cooling_above_c=22.0,
        weekday=_HOME_WEEKDAY,
        saturday=_HOME_WEEKEND,
        sunday=_HOME_WEEKEND,
    ),
    "apartment_block": TypeProfile(
        kwh_per_m2_year=45.0,
        floor_area_m2=(800, 8000),
        base_share=(0.25, 0.4),
        noise_sigma=(0.06, 0.12),
        noise_phi=(0.6, 0.85),
        spikes_per_day=0.5,
        spike_size=(0.3, 0.8),
        heating_per_c=0.02,
        cooling_per_c=0.01,
        heating_below_c=15.5,
        cooling_above_c=22.0,
        weekday=_HOME_WEEKDAY,
        saturday=_HOME_WEEKEND,
        sunday=_HOME_WEEKEND,
    ),
    "office": TypeProfile(
        kwh_per_m2_year=230.0,
        floor_area_m2=(600, 20000),
        base_share=(0.2, 0.35),
        noise_sigma=(0.04, 0.09),
        noise_phi=(0.7, 0.9),
        spikes_per_day=0.3,
        spike_size=(0.3, 0.8),
        heating_per_c=0.015,
        cooling_per_c=0.035,
        heating_below_c=13.0,
        cooling_above_c=15.0,
        weekday=_hours(0.4, {(7, 8): 0.9, (8, 18): 1.8, (18, 20): 1.0}),
        saturday=_hours(0.42, {(9, 13): 0.6}),
        sunday=_hours(0.4, {}),
    ),
    "mall": TypeProfile(
        kwh_per_m2_year=420.0,
        floor_area_m2=(4000, 60000),
        base_share=(0.2, 0.35),
        noise_sigma=(0.03, 0.07),
        noise_phi=(0.7, 0.9),
        spikes_per_day=0.2,
        spike_size=(0.2, 0.5),
        heating_per_c=0.008,
        cooling_per_c=0.09,
        heating_below_c=11.0,
        cooling_above_c=14.0,
        weekday=_hours(0.4, {(8, 10): 0.9, (10, 22): 1.5, (22, 23): 0.8}),
        saturday=_hours(0.4, {(8, 10): 0.9, (10, 22): 1.6, (22, 23): 0.8}),
        sunday=_hours(0.4, {(9, 11): 0.85, (11, 17): 1.55, (17, 19): 0.8}),
    ),
    "school": TypeProfile(
        kwh_per_m2_year=110.0,
        floor_area_m2=(1500, 12000),
        base_share=(0.15, 0.3),
        noise_sigma=(0.05, 0.1),
        noise_phi=(0.7, 0.9),
        spikes_per_day=0.3,
        spike_size=(0.3, 0.8),
        heating_per_c=0.025,
        cooling_per_c=0.01,
        heating_below_c=14.0,
        cooling_above_c=19.0,
        weekday=_hours(0.35, {(7, 8): 1.0, (8, 16): 2.0, (16, 18): 1.1}),
        saturday=_hours(0.35, {}),
        sunday=_hours(0.35, {}),
    ),
    "hospital": TypeProfile(
        kwh_per_m2_year=380.0,
        floor_area_m2=(8000, 80000),
        base_share=(0.6, 0.75),
        noise_sigma=(0.02, 0.05),
        noise_phi=(0.7, 0.9),
        spikes_per_day=0.2,
        spike_size=(0.1, 0.3),
        heating_per_c=0.01,
        cooling_per_c=0.03,
        heating_below_c=14.0,
        cooling_above_c=16.0,
        weekday=_hours(0.9, {(7, 9): 1.05, (9, 19): 1.15, (19, 22): 1.0}),
        saturday=_hours(0.9, {(9, 19): 1.05}),
        sunday=_hours(0.9, {(9, 19): 1.03}),
    ),
    "factory": TypeProfile(
        kwh_per_m2_year=300.0,
        floor_area_m2=(2000, 40000),
        base_share=(0.25, 0.4),
        noise_sigma=(0.04, 0.1),
        noise_phi=(0.6, 0.85),
        spikes_per_day=1.0,
        spike_size=(0.3, 0.8),
        heating_per_c=0.005,
        cooling_per_c=0.01,
        heating_below_c=12.0,
        cooling_above_c=17.0,
        weekday=_hours(0.5, {(6, 22): 1.4}),
        saturday=_hours(0.5, {(6, 14): 1.1}),
        sunday=_hours(0.48, {}),
    ),
}
assert set(PROFILES) == set(SITE_TYPES)

_NAMES = {
    "home": "{last} residence",
    "apartment_block": "{street} Apartments",
    "office": "{company} House",
    "mall": "{city} {word} Centre",
    "school": "{last} School",
    "hospital": "{city} {word} Hospital",
    "factory": "{company} Works",
}


@dataclass(frozen=True)
class Sites:
    """The population, one row per site (column arrays), plus meter timelines."""

    site_id: np.ndarray
    site_type: np.ndarray  # the true type
    area_index: np.ndarray
    floor_area_m2: np.ndarray
    latitude: np.ndarray
    longitude: np.ndarray
    site_name: np.ndarray
    address: np.ndarray
    # load parameters
    mean_kw: np.ndarray  # mean power before weather, kW
    base_share: np.ndarray
    noise_sigma: np.ndarray
    noise_phi: np.ndarray
    spikes_per_day: np.ndarray
    spike_size: np.ndarray
    heating_kw_per_c: np.ndarray
    cooling_kw_per_c: np.ndarray
    heating_below_c: np.ndarray
    cooling_above_c: np.ndarray
    weekend_factor: np.ndarray
    shift_hours: np.ndarray  # the site's day runs this much earlier (-) or later (+)
    pv_kwp: np.ndarray  # 0 without rooftop solar
    ev_kw: np.ndarray  # 0 without an electric car
    # registry history
    registered_type: np.ndarray  # what the registry says at the start
    reclassified_on: np.ndarray  # datetime64[D]; NaT when never corrected
    meter_replaced_on: np.ndarray  # datetime64[D]; NaT when never replaced

    @property
    def count(self) -> int:
        """Number of sites."""
        return len(self.site_id)

    @property
    def is_net_metered(self) -> np.ndarray:
        """Sites whose meter measures net flow: negative readings are exports."""
        return self.pv_kwp > 0

    def meter_ids(self, day: date) -> np.ndarray:
        """The meter reading each site on a local day (replacements switch at midnight)."""
        return self.meter_id_on(
            np.arange(self.count), np.full(self.count, np.datetime64(day))
        )

    def meter_id_on(self, index: np.ndarray, days: np.ndarray) -> np.ndarray:
        """The meter of sites `index` on `days` (datetime64[D]), element by element."""
        replaced_on = self.meter_replaced_on[index]
        replaced = ~np.isnat(replaced_on) & (replaced_on <= days)
        site_id = self.site_id[index]
        return np.where(replaced, _meter_id(site_id, 2), _meter_id(site_id, 1))


def _meter_id(site_id: np.ndarray, generation: int) -> np.ndarray:
    if site_id.size == 0:
        return np.array([], dtype=object)
    numbers = np.char.replace(site_id.astype(str), "SITE-", "")
    return np.char.add(np.char.add("MTR-", numbers), f"-{generation}").astype(object)


def build_sites(city: City, count: int, first_day: date, days: int, seed: int) -> Sites:
    """Draw the city's sites, their load parameters and their registry history."""
    rng = np.random.default_rng([seed, 0])
    area_weights = np.ones(len(city.areas))
    area_index = np.sort(
        rng.choice(len(city.areas), size=count, p=area_weights / area_weights.sum())
    )
    site_type = np.empty(count, dtype=object)
    for index, area in enumerate(city.areas):
        members = np.flatnonzero(area_index == index)
        names = [name for name, _ in area.site_mix]
        weights = np.array([weight for _, weight in area.site_mix])
        site_type[members] = rng.choice(
            names, size=members.size, p=weights / weights.sum()
        )

    def per_site(pick) -> np.ndarray:  # noqa: ANN001 - a function of the profile
        low = np.array([pick(PROFILES[t])[0] for t in site_type])
        high = np.array([pick(PROFILES[t])[1] for t in site_type])
        return low + (high - low) * rng.random(count)

    floor_low = np.array([PROFILES[t].floor_area_m2[0] for t in site_type])
    floor_high = np.array([PROFILES[t].floor_area_m2[1] for t in site_type])
    floor_area = np.round(np.exp(rng.uniform(np.log(floor_low), np.log(floor_high))), 1)
    intensity = np.array([PROFILES[t].kwh_per_m2_year for t in site_type])
    # homes: how much a household uses varies far more than its floor area says
    spread = np.where(
        site_type == "home",
        rng.lognormal(0.0, 0.45, count),
        rng.lognormal(0.0, 0.2, count),
    )
    mean_kw = floor_area * intensity * spread / 8760.0
    is_home = site_type == "home"

    radius_deg = np.array([city.areas[i].radius_km for i in area_index]) / 111.0
    angle = rng.uniform(0, 2 * np.pi, count)
    distance = radius_deg * np.sqrt(rng.random(count))
    latitude = np.array(
        [city.areas[i].latitude for i in area_index]
    ) + distance * np.sin(angle)
    longitude = np.array(
        [city.areas[i].longitude for i in area_index]
    ) + distance * np.cos(angle) / np.cos(np.radians(latitude))

    solar = is_home & (rng.random(count) < city.solar_share)
    ev = is_home & (rng.random(count) < city.ev_share)
    heating_scale = np.where(
        is_home & (rng.random(count) < 0.15), 4.0, 1.0
    )  # electric heating

    period_days = max(days, 1)
    years = period_days / 365.25
    reclassified = rng.random(count) < city.reclassified_sites_per_year * years
    registered_type = site_type.copy()
    wrong = rng.choice(list(SITE_TYPES), size=count)
    registered_type[reclassified] = np.where(
        wrong[reclassified] == site_type[reclassified], "office", wrong[reclassified]
    )
    registered_type[reclassified & (site_type == "office")] = "factory"
    offsets = (
        rng.integers(1, period_days, count) if period_days > 1 else np.ones(count, int)
    )
    start = np.datetime64(first_day)
    reclassified_on = np.where(reclassified, start + offsets, np.datetime64("NaT"))
    replaced = rng.random(count) < city.meter_replacements_per_year * years
    replaced_on = np.where(
        replaced,
        start + rng.integers(1, period_days, count) if period_days > 1 else start,
        np.datetime64("NaT"),
    ).astype("datetime64[D]")

    site_id = np.array([f"SITE-{n:06d}" for n in range(1, count + 1)], dtype=object)
    names, addresses = _names(city, site_type, seed)
    return Sites(
        site_id=site_id,
        site_type=site_type,
        area_index=area_index,
        floor_area_m2=floor_area,
        latitude=np.round(latitude, 5),
        longitude=np.round(longitude, 5),
        site_name=names,
        address=addresses,
        mean_kw=mean_kw,
        base_share=per_site(lambda p: p.base_share),
        noise_sigma=per_site(lambda p: p.noise_sigma),
        noise_phi=per_site(lambda p: p.noise_phi),
        spikes_per_day=np.array([PROFILES[t].spikes_per_day for t in site_type])
        * rng.uniform(0.3, 1.7, count),
        spike_size=per_site(lambda p: p.spike_size),
        heating_kw_per_c=np.array([PROFILES[t].heating_per_c for t in site_type])
        * mean_kw
        * heating_scale
        * rng.uniform(0.5, 1.5, count),
        cooling_kw_per_c=np.array([PROFILES[t].cooling_per_c for t in site_type])
        * mean_kw
        * rng.uniform(0.5, 1.5, count),
        heating_below_c=np.array([PROFILES[t].heating_below_c for t in site_type]),
        cooling_above_c=np.array([PROFILES[t].cooling_above_c for t in site_type]),
        weekend_factor=np.where(is_home, rng.normal(0.97, 0.13, count), 1.0),
        shift_hours=np.where(
            is_home, rng.normal(0.0, 0.8, count), rng.normal(0.0, 0.3, count)
        ),
        pv_kwp=np.where(solar, np.round(rng.uniform(2.5, 5.0, count), 1), 0.0),
        ev_kw=np.where(ev, rng.choice([3.6, 7.2], count), 0.0),
        registered_type=registered_type,
        reclassified_on=reclassified_on.astype("datetime64[D]"),
        meter_replaced_on=replaced_on,
    )


def _names(
    city: City, site_type: np.ndarray, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    fake = Faker(city.faker_locale)
    fake.seed_instance(seed)
    names, addresses = [], []
    for kind in site_type:
        street = fake.street_name()
        names.append(
            _NAMES[kind].format(
                last=fake.last_name(),
                street=street,
                company=fake.last_name(),
                city=fake.city(),
                word=fake.word().title(),
            )
        )
        addresses.append(f"{fake.building_number()} {street}, {fake.postcode()}")
    return np.array(names, dtype=object), np.array(addresses, dtype=object)


def registry_dates(sites: Sites, first_day: date) -> list[date]:
    """Days the registry is delivered: the first day and every day something changes."""
    changes = np.concatenate([sites.reclassified_on, sites.meter_replaced_on])
    changes = changes[~np.isnat(changes)]
    days = {first_day, *(d.item() for d in np.unique(changes))}
    return sorted(days)


def registry_snapshot(
    sites: Sites, city: City, day: date, first_day: date, interval_minutes: int
) -> tuple[dict, dict]:
    """The site and meter registry as delivered on `day` (columns of text)."""
    as_of = np.datetime64(day)
    corrected = ~np.isnat(sites.reclassified_on) & (sites.reclassified_on <= as_of)
    site_type = np.where(corrected, sites.site_type, sites.registered_type)
    areas = city.areas
    site_columns = {
        "site_id": sites.site_id,
        "site_name": sites.site_name,
        "site_type": site_type,
        "area_id": [areas[i].area_id for i in sites.area_index],
        "area_name": [areas[i].name for i in sites.area_index],
        "floor_area_m2": [f"{v:.1f}" for v in sites.floor_area_m2],
        "latitude": [f"{v:.5f}" for v in sites.latitude],
        "longitude": [f"{v:.5f}" for v in sites.longitude],
        "time_zone": [areas[i].time_zone for i in sites.area_index],
        "address": sites.address,
    }
    replaced = ~np.isnat(sites.meter_replaced_on) & (sites.meter_replaced_on <= as_of)
    first_ids = _meter_id(sites.site_id, 1)
    meter_type = np.where(sites.is_net_metered, "net", "import")
    meter_id = list(first_ids)
    site_id = list(sites.site_id)
    installed = [""] * sites.count
    removed = [
        str(d) if r else ""
        for d, r in zip(sites.meter_replaced_on, replaced, strict=True)
    ]
    types = list(meter_type)
    for index in np.flatnonzero(replaced):
        meter_id.append(_meter_id(sites.site_id[index : index + 1], 2)[0])
        site_id.append(sites.site_id[index])
        installed.append(str(sites.meter_replaced_on[index]))
        removed.append("")
        types.append(meter_type[index])
    # meters in place before the period were installed three years earlier
    installed_before = str(np.datetime64(first_day) - np.timedelta64(3 * 365, "D"))
    meter_columns = {
        "meter_id": meter_id,
        "site_id": site_id,
        "installed_on": [value or installed_before for value in installed],
        "interval_minutes": [str(interval_minutes)] * len(meter_id),
        "removed_on": removed,
        "meter_type": types,
    }
    return site_columns, meter_columns


def day_range(first_day: date, days: int) -> list[date]:
    """The local days of a period."""
    return [first_day + timedelta(days=offset) for offset in range(days)]
