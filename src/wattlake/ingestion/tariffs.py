"""The retailer's tariff assignments: which tariff each site is on, from which day.

The tariffs themselves (time-of-use bands, blocks, fixed and demand charges)
are dbt seeds Wattlake owns (`seeds/tariff_plans.csv` and its siblings). The
retailer delivers only the assignments, to `landing/tariffs/`:

    tariffs_<day>.csv.gz   site_id, tariff_id, valid_from (the site's local date)

The first delivery (on the first simulated day) lists every site's current
tariff, whose contract started months or years before. A site that switches
tariff during the period is announced `NOTICE_DAYS` before the switch (never
before the first day), in the delivery of the day the notice is sent. Homes
are mostly on a flat or an Economy 7 style tariff (homes charging an electric
car mostly on an overnight EV tariff), offices, malls, hospitals and factories
on tariffs with a kW demand charge, schools and apartment blocks on block
(tiered) tariffs. Everything is drawn from the seed, so a rerun delivers the
same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from wattlake.ingestion.city import SITE_TYPES
from wattlake.ingestion.sites import Sites

# (tariff_id, share) per site type; the ids are those of seeds/tariff_plans.csv.
TARIFF_CHOICES: dict[str, tuple[tuple[str, float], ...]] = {
    "home": (("dom_flat", 0.68), ("dom_e7", 0.27), ("dom_ev", 0.05)),
    "apartment_block": (("res_block", 1.0),),
    "office": (("com_three_rate", 0.7), ("com_two_rate", 0.3)),
    "mall": (("com_three_rate", 0.8), ("com_two_rate", 0.2)),
    "school": (("pub_block", 1.0),),
    "hospital": (("pub_three_rate", 1.0),),
    "factory": (("ind_three_rate", 0.8), ("ind_two_rate", 0.2)),
}
# homes charging an electric car mostly pick an overnight EV tariff
EV_HOME_CHOICES: tuple[tuple[str, float], ...] = (
    ("dom_ev", 0.7),
    ("dom_e7", 0.15),
    ("dom_flat", 0.15),
)
NOTICE_DAYS = 7  # a switch is delivered this many days before it takes effect
assert set(TARIFF_CHOICES) == set(SITE_TYPES)


@dataclass(frozen=True)
class TariffAssignments:
    """One row per assignment: a site is on a tariff from a local date on."""

    site_id: np.ndarray  # object
    tariff_id: np.ndarray  # object
    valid_from: np.ndarray  # datetime64[D], the site's local date
    notified_on: np.ndarray  # datetime64[D], the day the retailer delivers it

    @property
    def count(self) -> int:
        """Number of assignments."""
        return len(self.site_id)


def assign_tariffs(
    sites: Sites,
    first_day: date,
    days: int,
    switches_per_year: float,
    seed: int,
) -> TariffAssignments:
    """Every site's tariff at the start, and the switches during the period."""
    rng = np.random.default_rng([seed, 11])
    count = sites.count
    has_ev = sites.ev_kw > 0
    choices = [
        EV_HOME_CHOICES if kind == "home" and ev else TARIFF_CHOICES[kind]
        for kind, ev in zip(sites.site_type, has_ev, strict=True)
    ]
    draws = rng.random(count)
    current = np.array(
        [_pick(options, draw) for options, draw in zip(choices, draws, strict=True)],
        dtype=object,
    )
    start = np.datetime64(first_day, "D")
    contract_start = start - rng.integers(30, 3 * 365, count).astype("timedelta64[D]")

    # switches: at most one per site, on a day after the first
    switch_draw = rng.random(count)
    switch_offset = rng.integers(1, max(days, 2), count)
    switch_choice = rng.random(count)
    chance = switches_per_year * days / 365.25
    site_rows, tariff_rows, valid_rows, notified_rows = [], [], [], []
    for index in range(count):
        site_rows.append(sites.site_id[index])
        tariff_rows.append(current[index])
        valid_rows.append(contract_start[index])
        notified_rows.append(start)
        others = tuple(
            (tariff, share)
            for tariff, share in TARIFF_CHOICES[sites.site_type[index]]
            if tariff != current[index]
        )
        if days < 2 or not others or switch_draw[index] >= chance:
            continue
        switch_day = start + np.timedelta64(int(switch_offset[index]), "D")
        site_rows.append(sites.site_id[index])
        tariff_rows.append(_pick(others, switch_choice[index]))
        valid_rows.append(switch_day)
        notified_rows.append(max(start, switch_day - np.timedelta64(NOTICE_DAYS, "D")))
    return TariffAssignments(
        site_id=np.array(site_rows, dtype=object),
        tariff_id=np.array(tariff_rows, dtype=object),
        valid_from=np.array(valid_rows, dtype="datetime64[D]"),
        notified_on=np.array(notified_rows, dtype="datetime64[D]"),
    )


def tariff_deliveries(
    assignments: TariffAssignments,
) -> list[tuple[date, dict[str, list[str]]]]:
    """The retailer's deliveries: (day sent, columns of text), one per notice day."""
    deliveries = []
    for day in np.unique(assignments.notified_on):
        rows = np.flatnonzero(assignments.notified_on == day)
        deliveries.append(
            (
                day.item(),
                {
                    "site_id": [str(v) for v in assignments.site_id[rows]],
                    "tariff_id": [str(v) for v in assignments.tariff_id[rows]],
                    "valid_from": [str(v) for v in assignments.valid_from[rows]],
                },
            )
        )
    return deliveries


def _pick(options: tuple[tuple[str, float], ...], draw: float) -> str:
    shares = np.array([share for _, share in options], dtype=float)
    edges = np.cumsum(shares / shares.sum())
    index = int(np.searchsorted(edges, draw, side="right"))
    return options[min(index, len(options) - 1)][0]
