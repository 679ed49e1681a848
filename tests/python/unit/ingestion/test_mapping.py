import csv
from pathlib import Path

import pytest
from sample_mappings import LONG_MAPPING as LONG

from wattlake.ingestion.mapping import (
    MAPPINGS_DIR,
    MappingError,
    Template,
    load_mapping,
    resolve_mapping,
)


def site_types(project_dir: Path) -> set[str]:
    with (project_dir / "seeds" / "site_types.csv").open(newline="") as handle:
        return {row["site_type"] for row in csv.DictReader(handle)}


def write(tmp_path: Path, text: str, name: str = "test_export") -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return path


def test_the_shipped_mappings_load(project_dir: Path) -> None:
    known = site_types(project_dir)
    london = resolve_mapping("london_lcl", project_dir, known)
    assert (london.layout, london.time_zone, london.unit) == ("long", "UTC", "kWh")
    assert london.used_columns == ("tstp", "LCLid", "energy(kWh/hh)")
    assert london.sites.site_type == "home"
    assert london.sites.time_zone == "Europe/London"
    assert london.sites.latitude is None and london.sites.floor_area_m2 is None
    tetouan = resolve_mapping("tetouan_zones", project_dir, known)
    assert (tetouan.layout, tetouan.interval_minutes, tetouan.unit) == (
        "wide",
        10,
        "kW",
    )
    assert [ident for _, ident in tetouan.value_columns] == [
        "zone-1",
        "zone-2",
        "zone-3",
    ]
    assert tetouan.sites.site_type == "distribution_zone"
    assert tetouan.sites.time_zone == "Africa/Casablanca"
    assert tetouan.weather is not None and tetouan.weather.area_id == "tetouan"
    assert dict(tetouan.weather.columns) == {
        "air_temperature_c": "Temperature",
        "relative_humidity_pct": "Humidity",
        "wind_speed_m_s": "Wind Speed",
    }
    # by path too
    path = project_dir / MAPPINGS_DIR / "tetouan_zones.toml"
    assert resolve_mapping(str(path), project_dir) == tetouan


def test_a_valid_mapping_reads_every_key(tmp_path: Path) -> None:
    mapping = load_mapping(write(tmp_path, LONG))
    assert mapping.name == "test_export"
    assert mapping.meter_id == Template("m-", "")
    assert mapping.site_name.apply("7") == "House 7"
    assert mapping.delimiter == "," and mapping.weather is None


@pytest.mark.parametrize(
    ("change", "key", "says"),
    [
        (('layout = "long"', 'layout = "tall"'), "[export] layout", "long, wide"),
        (
            (
                'time_zone = "Europe/London"\ninterval',
                'time_zone = "Europe/Londn"\ninterval',
            ),
            "[export] time_zone",
            "not an IANA time zone",
        ),
        (
            ("interval_minutes = 30", "interval_minutes = 7"),
            "[export] interval_minutes",
            "5, 10, 15, 30, 60",
        ),
        (('unit = "kWh"', 'unit = "MWh"'), "[export] unit", "kWh, Wh, kW"),
        (
            ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d"),
            "[export] timestamp_format",
            "hour and minute",
        ),
        (
            ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S%z"),
            "[export] timestamp_format",
            "offsets",
        ),
        (('meter_column = "meter"\n', ""), "[export] meter_column", "missing"),
        (("value_column", "value_colum"), "[export] value_colum", "unknown key"),
        (
            ('meter_id = "m-{id}"', 'meter_id = "m-"'),
            "[ids] meter_id",
            "'{id}' exactly once",
        ),
        (
            ('meter_id = "m-{id}"', 'meter_id = "m {id}"'),
            "[ids] meter_id",
            "letters, digits",
        ),
        (
            ('site_type = "home"', 'site_type = "castle"'),
            "[sites] site_type",
            "not a known site type",
        ),
        (
            (
                'area_name = "North"',
                'area_name = "North"\nlatitude = 95.0\nlongitude = 1.0',
            ),
            "[sites] latitude",
            "[-90, 90]",
        ),
        (
            ('area_name = "North"', 'area_name = "North"\nlatitude = 51.0'),
            "[sites] latitude",
            "together",
        ),
        (
            ('area_name = "North"', 'area_name = "North"\nfloor_area_m2 = 0'),
            "[sites] floor_area_m2",
            "greater than 0",
        ),
        (
            ('value_column = "kwh"', 'value_column = "meter"'),
            "[export]",
            "mapped more than once",
        ),
        (
            ("[ids]", '[weather]\nair_temperature_c = "t"\n\n[ids]'),
            "[weather]",
            "only for layout = 'wide'",
        ),
        (("[ids]", "[idz]"), "[idz]", "unknown section"),
    ],
)
def test_an_invalid_mapping_is_refused_naming_file_and_key(
    tmp_path: Path, project_dir: Path, change: tuple[str, str], key: str, says: str
) -> None:
    old, new = change
    assert old in LONG
    path = write(tmp_path, LONG.replace(old, new, 1))
    with pytest.raises(MappingError) as caught:
        load_mapping(path, site_types(project_dir))
    message = str(caught.value)
    assert message.startswith(f"{path}: {key}"), message
    assert says in message


def test_a_wide_mapping_needs_its_value_columns(tmp_path: Path) -> None:
    wide = LONG.replace('layout = "long"', 'layout = "wide"').replace(
        'meter_column = "meter"\nvalue_column = "kwh"\n', ""
    )
    with pytest.raises(MappingError, match=r"\[export\] value_columns: missing"):
        load_mapping(write(tmp_path, wide))
    with_meter_column = wide.replace(
        'unit = "kWh"',
        'unit = "kWh"\nmeter_column = "m"\n[export.value_columns]\nA = "a"',
    )
    with pytest.raises(MappingError, match=r"meter_column: only for layout = 'long'"):
        load_mapping(write(tmp_path, with_meter_column))
    columns = wide.replace(
        'unit = "kWh"', 'unit = "kWh"\n[export.value_columns]\nA = "a"\nB = "b"'
    )
    assert load_mapping(write(tmp_path, columns)).value_columns == (
        ("A", "a"),
        ("B", "b"),
    )


def test_missing_files_bad_toml_and_unknown_names_are_refused(
    tmp_path: Path, project_dir: Path
) -> None:
    with pytest.raises(MappingError, match="no such mapping file"):
        load_mapping(tmp_path / "absent.toml")
    broken = write(tmp_path, "[export\nlayout = ")
    with pytest.raises(MappingError, match=f"{broken}: not valid TOML"):
        load_mapping(broken)
    with pytest.raises(MappingError, match="no mapping named 'nope'.*london_lcl"):
        resolve_mapping("nope", project_dir)
    with pytest.raises(MappingError, match="goes into batch ids"):
        load_mapping(write(tmp_path, LONG, name="Bad Name"))
