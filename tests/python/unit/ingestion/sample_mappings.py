"""A small long-layout mapping shared by the mapping and importer tests."""

LONG_MAPPING = """
[export]
layout = "long"
timestamp_column = "time"
timestamp_format = "%Y-%m-%d %H:%M:%S"
time_zone = "Europe/London"
interval_minutes = 30
unit = "kWh"
meter_column = "meter"
value_column = "kwh"

[ids]
meter_id = "m-{id}"
site_id = "s-{id}"
site_name = "House {id}"

[sites]
site_type = "home"
area_id = "north"
area_name = "North"
time_zone = "Europe/London"
"""
