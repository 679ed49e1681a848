from pathlib import Path

import pytest

from wattlake.config import ConfigError
from wattlake.ingestion.city import ANOMALY_TYPES, load_city

CITY = Path(__file__).resolve().parents[4] / "ingestion" / "city.toml"


def test_the_shipped_city_loads() -> None:
    city = load_city(CITY)
    assert [area.area_id for area in city.areas] == [
        "downtown",
        "suburbs",
        "industrial",
        "campus",
    ]
    assert {area.delivery_format for area in city.areas} == {
        "csv.gz",
        "jsonl.gz",
        "parquet",
    }
    assert {area.batch for area in city.areas} == {"hour", "day"}
    assert set(city.anomaly_rates) == set(ANOMALY_TYPES)
    assert all(rate > 0 for rate in city.anomaly_rates.values())


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            'time_zone = "Europe/London"\nlatitude = 51.512',
            'time_zone = "Europe/Lundon"\nlatitude = 51.512',
            r"areas\[0\].time_zone: 'Europe/Lundon' is not an IANA time zone",
        ),
        (
            "office = 0.33,",
            "castle = 0.33,",
            r"areas\[0\].site_mix.castle: unknown site type",
        ),
        (
            'format = "jsonl.gz"',
            'format = "xml"',
            r"areas\[0\].head_end.format: 'xml' is not one of",
        ),
        ("spike = 0.6", "spike = -1", r"anomalies.spike: -1 is outside \[0, 365\]"),
        (
            "spike = 0.6",
            "spike = 0.6\nearthquake = 1",
            r"anomalies.earthquake: unknown anomaly type",
        ),
        (
            "solar_share = 0.10",
            "solar_share = 'lots'",
            r"households.solar_share: expected a number",
        ),
        (
            "local_time_dst_batches = true",
            "",
            r"faults.local_time_dst_batches: missing",
        ),
        (
            'id = "downtown"',
            'id = "Down Town"',
            r"areas\[0\].id: 'Down Town' must be lower-case",
        ),
    ],
)
def test_a_bad_city_names_the_file_and_key(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    text = CITY.read_text()
    assert old in text
    bad = tmp_path / "city.toml"
    bad.write_text(text.replace(old, new, 1))
    with pytest.raises(ConfigError, match=rf"{bad}: {message}"):
        load_city(bad)


def test_not_toml_is_refused_with_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "city.toml"
    bad.write_text("[city\nname = 1")
    with pytest.raises(ConfigError, match=str(bad)):
        load_city(bad)


def test_a_city_without_tariffs_has_no_tariff_switches(tmp_path: Path) -> None:
    assert load_city(CITY).tariff_switches_per_year == 0.15
    text = CITY.read_text()
    start = text.index("[tariffs]")
    end = text.index("[anomalies]")
    plain = tmp_path / "city.toml"
    plain.write_text(text[:start] + text[end:])
    assert load_city(plain).tariff_switches_per_year == 0.0
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("switches_per_year = 0.15", "switches_per_year = -1"))
    with pytest.raises(
        ConfigError,
        match=rf"{bad}: tariffs.switches_per_year: -1 is outside \[0, 365\]",
    ):
        load_city(bad)
