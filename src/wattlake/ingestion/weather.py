"""Simulated weather: hourly air temperature per area, and clear-sky sunshine.

Temperature = seasonal cycle + diurnal cycle + autocorrelated noise + heat
waves (June-August) and cold snaps (December-February), plus the area's urban
heat island. It is drawn once for the whole period, hour by hour in UTC, so a
day's temperatures do not depend on which other days are generated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from wattlake.ingestion.city import Climate

HOUR = np.timedelta64(1, "h")


@dataclass(frozen=True)
class Weather:
    """Hourly temperature of each area from `start` (UTC midnight), and its events."""

    start: np.datetime64  # first hour, UTC
    temperature_c: np.ndarray  # (areas, hours)
    events: list[
        tuple[str, date, date, float]
    ]  # (kind, first day, last day, amplitude)

    def at(self, area_index: np.ndarray, instants_utc: np.ndarray) -> np.ndarray:
        """Temperature for each (area, instant), interpolated linearly between hours."""
        hours = (instants_utc - self.start) / HOUR
        low = np.clip(
            np.floor(hours).astype(np.int64), 0, self.temperature_c.shape[1] - 2
        )
        weight = np.clip(hours - low, 0.0, 1.0)
        series = self.temperature_c[area_index]
        return series[..., low] * (1 - weight) + series[..., low + 1] * weight


def simulate_weather(
    climate: Climate,
    heat_islands_c: list[float],
    first_day: date,
    last_day: date,
    seed: int,
) -> Weather:
    """Hourly temperatures covering [first_day - 1 day, last_day + 2 days] in UTC."""
    start_day = first_day - timedelta(days=1)
    days = (last_day - start_day).days + 3
    hours = days * 24
    rng = np.random.default_rng([seed, 7])
    start = np.datetime64(start_day.isoformat(), "h")
    instants = start + np.arange(hours) * HOUR
    day_of_year = (
        instants.astype("datetime64[D]") - instants.astype("datetime64[Y]")
    ).astype(np.int64) + 1
    hour_of_day = (instants - instants.astype("datetime64[D]")) / HOUR
    seasonal = -climate.seasonal_amplitude_c * np.cos(
        2 * np.pi * (day_of_year - climate.coldest_day_of_year) / 365.25
    )
    diurnal = -climate.diurnal_amplitude_c * np.cos(
        2 * np.pi * (hour_of_day - 4.0) / 24
    )
    # AR(1) noise, hour to hour: weather changes over days, not every hour
    phi = 0.97
    shocks = rng.normal(0.0, climate.noise_c * np.sqrt(1 - phi**2), hours)
    noise = np.empty(hours)
    noise[0] = rng.normal(0.0, climate.noise_c)
    for hour in range(1, hours):
        noise[hour] = phi * noise[hour - 1] + shocks[hour]
    events_curve, events = _events(climate, instants, day_of_year, rng)
    base = climate.mean_c + seasonal + diurnal + noise + events_curve
    temperature = np.stack([base + island for island in heat_islands_c])
    return Weather(start=start, temperature_c=np.round(temperature, 2), events=events)


def _events(
    climate: Climate,
    instants: np.ndarray,
    day_of_year: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, list[tuple[str, date, date, float]]]:
    """Heat waves and cold snaps: smooth bumps of 3 to 7 days in their season."""
    curve = np.zeros(len(instants))
    events = []
    hours_from_start = np.arange(len(instants), dtype=float)
    for kind, rate, sign, season in (
        ("heat_wave", climate.heat_waves_per_year, 1.0, (152, 243)),
        ("cold_snap", climate.cold_snaps_per_year, -1.0, (335, 59)),
    ):
        if season[0] < season[1]:
            in_season = (day_of_year >= season[0]) & (day_of_year <= season[1])
        else:
            in_season = (day_of_year >= season[0]) | (day_of_year <= season[1])
        candidates = np.flatnonzero(in_season & (hours_from_start % 24 == 12))
        # one candidate a day in season; a season is about 92 days long
        count = rng.poisson(rate * candidates.size / 92) if candidates.size else 0
        for _ in range(count):
            centre = int(rng.choice(candidates))
            length_days = int(rng.integers(3, 8))
            amplitude = sign * climate.event_amplitude_c * rng.uniform(0.7, 1.2)
            half = length_days * 12
            distance = (hours_from_start - centre) / half
            bump = np.where(
                np.abs(distance) < 1, np.cos(distance * np.pi / 2) ** 2, 0.0
            )
            curve += amplitude * bump
            first = instants[max(centre - half, 0)].astype("datetime64[D]").item()
            last = (
                instants[min(centre + half, len(instants) - 1)]
                .astype("datetime64[D]")
                .item()
            )
            events.append((kind, first, last, round(float(amplitude), 2)))
    return curve, events


def solar_elevation_sine(
    latitude: np.ndarray, longitude: np.ndarray, instants_utc: np.ndarray
) -> np.ndarray:
    """Sine of the sun's elevation for each (site, instant); negative at night.

    Standard declination and hour-angle approximation: good to a degree or two,
    plenty for the shape of a solar panel's day.
    """
    days = (
        instants_utc.astype("datetime64[D]") - instants_utc.astype("datetime64[Y]")
    ).astype(float)
    hours = (instants_utc - instants_utc.astype("datetime64[D]")) / HOUR
    declination = np.radians(23.44) * np.sin(2 * np.pi * (284 + days + 1) / 365)
    solar_time = hours[None, :] + longitude[:, None] / 15.0
    hour_angle = np.radians(15.0 * (solar_time - 12.0))
    lat = np.radians(latitude)[:, None]
    return np.sin(lat) * np.sin(declination)[None, :] + np.cos(lat) * np.cos(
        declination
    )[None, :] * np.cos(hour_angle)
