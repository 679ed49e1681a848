"""Helpers for simulator tests: a small city, and deliveries read back as a frame."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from wattlake.config import Scale
from wattlake.ingestion.city import ANOMALY_TYPES, City, load_city
from wattlake.ingestion.formats import parse_delivery
from wattlake.ingestion.simulate import simulate
from wattlake.storage import Lake

CITY = load_city(Path(__file__).resolve().parents[4] / "ingestion" / "city.toml")
# six local days around the spring DST change, 40 sites
SMALL = Scale(
    name="small", sites=40, start=date(2025, 3, 28), days=6, interval_minutes=15
)
NO_FAULTS = replace(
    CITY.faults,
    **{
        name: 0.0
        for name in CITY.faults.__dataclass_fields__
        if name != "local_time_dst_batches"
    },
    local_time_dst_batches=False,
)


def city(
    anomaly_rate: float = 0.0, faults: object = NO_FAULTS, **changes: object
) -> City:
    """The shipped city with every anomaly at one rate and the given faults."""
    return replace(
        CITY,
        anomaly_rates={name: anomaly_rate for name in ANOMALY_TYPES},
        faults=faults,
        **changes,
    )


def simulated_lake(
    root: Path, the_city: City, scale: Scale = SMALL, seed: int = 5
) -> Lake:
    lake = Lake(str(root))
    simulate(lake, scale, seed, the_city, workers=1)
    return lake


def deliveries(lake: Lake) -> pd.DataFrame:
    """Every delivered reading row, as text plus parsed columns."""
    frames = []
    for delivery in lake.deliveries():
        if delivery.source != "metering":
            continue
        parsed = parse_delivery(
            lake.read_bytes(delivery.uri), delivery.fmt, "readings", delivery.uri
        )
        frame = parsed.table.to_pandas()
        frame["batch_id"] = delivery.batch_id
        frames.append(frame)
    rows = pd.concat(frames, ignore_index=True)
    text = rows["reading_start"].fillna("")
    rows["is_local_time"] = ~text.str.endswith("Z") & (text != "")
    rows["start"] = pd.to_datetime(
        text.str.replace("Z", "", regex=False), format="ISO8601", errors="coerce"
    )
    # a local-time export (a fault) means Europe/London wall-clock time
    local = rows["is_local_time"]
    rows.loc[local, "start"] = (
        rows.loc[local, "start"]
        .dt.tz_localize("Europe/London", ambiguous="NaT", nonexistent="NaT")
        .dt.tz_convert("UTC")
        .dt.tz_localize(None)
    )
    rows["kwh"] = pd.to_numeric(rows["value"], errors="coerce") / np.where(
        rows["unit"] == "Wh", 1000.0, 1.0
    )
    return rows


def truth(lake: Lake, name: str) -> pd.DataFrame:
    frame = pd.read_parquet(lake.truth(f"{name}.parquet"))
    for column in frame.columns:
        if str(frame[column].dtype).startswith("datetime64") and getattr(
            frame[column].dt, "tz", None
        ):
            frame[column] = frame[column].dt.tz_localize(None)
    return frame
