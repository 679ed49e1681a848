"""Readable labels for mart columns, with the unit their name carries.

The marts name every quantity with its unit as a suffix (STYLE.md, "Units and
names"); the Tableau workbook and the web dashboard show the same column as
"Energy (kWh)", "Total cost (GBP)", "Coverage (%)". One function makes the
label, so both front ends agree.
"""

from __future__ import annotations

# longest suffix first: `_kwh_per_m2` before `_m2` and `_kwh`
UNIT_SUFFIXES = (
    ("_kwh_per_degree_day", "kWh per degree day"),
    ("_kwh_per_day", "kWh per day"),
    ("_kwh_per_m2", "kWh per m²"),
    ("_kw_per_site", "kW per site"),
    ("_m_s", "m/s"),
    ("_kwh", "kWh"),
    ("_kw", "kW"),
    ("_gbp", "GBP"),
    ("_m2", "m²"),
    ("_pct", "%"),
    ("_kg", "kg CO2"),
    ("_c", "°C"),
    ("_hours", "h"),
    ("_minutes", "min"),
    ("_utc", "UTC"),
    ("_local", "local time"),
)
WORDS = {"co2": "CO2", "id": "ID", "kwh": "kWh", "utc": "UTC", "iso": "ISO"}


def unit_of(column: str) -> str | None:
    """The unit a column's name carries (`energy_kwh` -> `kWh`), or None."""
    for suffix, unit in UNIT_SUFFIXES:
        if column.endswith(suffix) and len(column) > len(suffix):
            return unit
    return None


def label(column: str) -> str:
    """A column's readable name with its unit: `energy_kwh_per_m2` -> `Energy (kWh per m²)`."""
    unit = unit_of(column)
    stem = column
    if unit is not None:
        suffix = next(s for s, u in UNIT_SUFFIXES if column.endswith(s) and u == unit)
        stem = column[: -len(suffix)]
    words = [WORDS.get(word, word) for word in stem.split("_") if word]
    text = " ".join(words)
    text = text[:1].upper() + text[1:]
    if stem.endswith("_co2") or stem == "co2":
        unit = "kg" if unit == "kg CO2" else unit
    return f"{text} ({unit})" if unit else text
