"""Each anomaly type is in the ground truth and visible in the delivered data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from simulated import city, deliveries, simulated_lake, truth

from wattlake.ingestion.city import ANOMALY_TYPES


@pytest.fixture(scope="module")
def with_anomalies(tmp_path_factory: pytest.TempPathFactory):
    """A simulated lake with anomalies at 30 per meter-year."""
    return simulated_lake(tmp_path_factory.mktemp("anomalies"), city(anomaly_rate=30.0))


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, with_anomalies):
    """The same city and seed with anomalies and without."""
    without = simulated_lake(tmp_path_factory.mktemp("clean"), city(anomaly_rate=0.0))
    events = truth(with_anomalies, "anomalies")
    observed = deliveries(with_anomalies).set_index(["meter_id", "start"])["kwh"]
    expected = deliveries(without).set_index(["meter_id", "start"])["kwh"]
    return events, observed, expected


def window(
    series: pd.Series, event: pd.Series, shift_minutes: float = 0.0
) -> pd.Series:
    meter = series.xs(event["meter_id"], level="meter_id")
    start = event["start_utc"] + pd.Timedelta(minutes=shift_minutes)
    end = event["end_utc"] + pd.Timedelta(minutes=shift_minutes)
    return meter[(meter.index >= start) & (meter.index < end)].sort_index()


def test_every_type_is_in_the_truth_with_its_window_and_excess(runs) -> None:
    events, _, _ = runs
    assert set(events["anomaly_type"]) == set(ANOMALY_TYPES)
    assert (events["end_utc"] > events["start_utc"]).all()
    assert (events["interval_count"] > 0).all()
    for site, group in events.sort_values("start_utc").groupby("site_id"):
        assert (
            group["start_utc"].iloc[1:].to_numpy()
            >= group["end_utc"].iloc[:-1].to_numpy()
        ).all(), site
    assert (events.loc[events["anomaly_type"] == "spike", "excess_kwh"] > 0).all()
    assert (
        events.loc[events["anomaly_type"].isin(["dip", "zero_run"]), "excess_kwh"] <= 0
    ).all()
    assert (events.loc[events["anomaly_type"] == "clock_skew", "excess_kwh"] == 0).all()


def test_the_excess_is_what_the_meter_shows_above_the_truth(runs) -> None:
    events, observed, expected = runs
    for _, event in events[events["anomaly_type"] != "clock_skew"].iterrows():
        got, base = window(observed, event), window(expected, event)
        assert len(got) == len(base) == event["interval_count"]
        # values are delivered rounded to 0.1 Wh
        assert (got - base).sum() == pytest.approx(
            event["excess_kwh"], abs=1e-4 * len(got) + 1e-3
        )


@pytest.mark.parametrize("kind", [k for k in ANOMALY_TYPES if k != "clock_skew"])
def test_each_type_has_its_signature(runs, with_anomalies, kind: str) -> None:
    events, observed, expected = runs
    site_type = truth(with_anomalies, "sites").set_index("site_id")["site_type"]
    chosen = events[events["anomaly_type"] == kind]
    assert len(chosen) > 0
    for _, event in chosen.iterrows():
        is_home = site_type[event["site_id"]] == "home"
        got, base = (
            window(observed, event).to_numpy(),
            window(expected, event).to_numpy(),
        )
        magnitude = event["magnitude"]
        if kind == "spike":
            assert (got - base > 0).all()
        elif kind in ("dip", "level_shift"):
            assert got == pytest.approx(base * magnitude, abs=2e-4)
        elif kind == "stuck":
            assert np.unique(got).size == 1 and got[0] == pytest.approx(magnitude)
        elif kind == "zero_run":
            assert (got == 0).all()
        elif kind == "drift" and is_home:
            # a failing appliance: a load of its own, growing to the magnitude
            # (kWh per interval), whatever the home does
            extra = got - base
            assert (np.diff(extra) > -2e-4).all() and extra[0] < extra[-1]
            assert extra[-1] == pytest.approx(magnitude, rel=0.1, abs=2e-4)
        elif kind == "drift":
            ratio = got[base > 0.01] / base[base > 0.01]
            assert ratio[-1] > ratio[0] and (ratio >= 1 - 1e-3).all()
        elif kind == "night_load":
            extra = got - base
            hours = window(observed, event).index.hour
            assert extra[(hours >= 8) & (hours < 20)] == pytest.approx(0, abs=2e-4)
            assert (extra[(hours >= 23) | (hours < 4)] > 0).all()
        elif kind == "negative":
            assert (got <= 0).all() and got == pytest.approx(-np.abs(base), abs=2e-4)


def test_a_clock_skew_moves_the_timestamps_not_the_energy(runs) -> None:
    events, observed, expected = runs
    skews = events[events["anomaly_type"] == "clock_skew"]
    assert len(skews) > 0
    for _, event in skews.iterrows():
        shift = pd.Timedelta(minutes=event["magnitude"])
        moved = window(observed, event, shift_minutes=event["magnitude"])
        true = window(expected, event)
        # each true reading is delivered under a label `shift` off; at the end of
        # the event the next true readings carry the same labels (duplicates)
        for start, kwh in true.items():
            assert any(
                abs(value - kwh) <= 2e-4
                for value in moved.loc[[start + shift]].to_numpy()
            ), (event["meter_id"], start)
        assert len(moved) - len(true) <= abs(event["magnitude"]) // 15


def test_spikes_and_dips_stay_off_homes_and_negatives_off_net_meters(
    runs, with_anomalies
) -> None:
    events, _, _ = runs
    sites = truth(with_anomalies, "sites").set_index("site_id")
    events = events.join(sites[["site_type", "is_net_metered"]], on="site_id")
    usage = events[events["anomaly_type"].isin(["spike", "dip"])]
    assert len(usage) > 0 and (usage["site_type"] != "home").all()
    assert (
        events.loc[events["anomaly_type"] == "negative", "is_net_metered"]
        .eq(False)
        .all()
    )
    # homes still get the anomalies a meter makes (stuck, zeros, ...)
    assert (events["site_type"] == "home").any()
