"""`wattlake evaluate`: detected anomalies against the simulator's ground truth.

Event level: a detected event and a true event match when they are on the same
meter, of the same type, and their time spans overlap. Precision is the share
of detected events that match some true event, recall the share of true events
some detected event matches, F1 their harmonic mean.

Point level: the meter-hours a detected event covers against the meter-hours a
true event covers, per type (precision, recall, F1 of those sets).

Warm-up: the usage rules compare a meter with its own expected profile, the
median of the same hour over the previous weeks, which needs WARM_UP_DAYS of
history. True events of those kinds (PROFILE_TYPES) that start before the
first reading date + WARM_UP_DAYS are left out of the scores, with the
detected events of those kinds that overlap them (whatever their true
kind): the detector could not judge that time fairly. A level shift left out
so is the level the meter's profile learned: its end, when use comes back,
looks like a shift of its own until the profile learns the old level again.
The detected events of those kinds that start within RETURN_DAYS after its
end and match no judged true event are left out with it (the pipeline
closes a shift it saw at its return; this one it never saw start).

Cut off: the data's end cuts some events short. A true event of any kind
that reaches the last reading date and lasts less, inside the data, than
the shortest event of its kind the simulator draws is left out the same
way (with the detected events overlapping it): what the data holds of it is
not yet that kind of event (one night of a night load, two days of a
drift). The report says how many true events were left out, and why.

Only the evaluation reads `_truth/`; the pipeline never does.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime

import duckdb
import pyarrow.parquet as pq

from wattlake.arrow_input import arrow_input
from wattlake.ingestion.anomalies import DURATION_HOURS
from wattlake.storage import Lake

TRUTH_FILE = "anomalies.parquet"
PROFILE_TYPES = ("dip", "drift", "level_shift", "night_load")
WARM_UP_DAYS = 14
# after a left-out level shift ends, its return shows for up to half of the
# profile's 8 weeks (the same hour's median turns after 4 of them)
RETURN_DAYS = 28
REPORT_FILE = "evaluation.json"
LEFT_OUT_REASONS = {
    "warm_up": f"warm-up, first {WARM_UP_DAYS} days",
    "cut_off": "cut off by the end of the data, shorter than their kind's shortest",
}


class EvaluationError(RuntimeError):
    """The evaluation cannot run; the message says why and what to do."""


@dataclass(frozen=True)
class Scores:
    """Precision, recall and F1 of one anomaly type at one level."""

    true_count: int
    detected_count: int
    matched_true: int
    matched_detected: int

    @property
    def precision(self) -> float | None:
        """Share of detected events that match a true one (None: nothing detected)."""
        return (
            self.matched_detected / self.detected_count if self.detected_count else None
        )

    @property
    def recall(self) -> float | None:
        """Share of true events some detected event matches (None: none true)."""
        return self.matched_true / self.true_count if self.true_count else None

    @property
    def f1(self) -> float | None:
        """Harmonic mean of precision and recall (0 when either is 0)."""
        p, r = self.precision, self.recall
        if r == 0 or p == 0:
            return 0.0
        if p is None or r is None:
            return None
        return 2 * p * r / (p + r)


@dataclass
class Evaluation:
    """Scores per anomaly type at event and point level."""

    events: dict[str, Scores] = field(default_factory=dict)
    points: dict[str, Scores] = field(default_factory=dict)
    # true events left out of the scores: {reason: {type: count}}
    excluded: dict[str, dict[str, int]] = field(default_factory=dict)
    # detected events left out as the return of a warm-up level shift: {type: count}
    returns_left_out: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def table(self) -> list[str]:
        """The report as aligned text lines."""
        header = (
            f"{'type':<12} {'true':>5} {'found':>6} {'precision':>9} {'recall':>7} "
            f"{'F1':>6}   {'point P':>7} {'point R':>7} {'point F1':>8}"
        )
        lines = [header, "-" * len(header)]
        left_out = {
            LEFT_OUT_REASONS[reason]: counts
            for reason, counts in sorted(self.excluded.items())
        }
        if self.returns_left_out:
            left_out[
                f"detected within {RETURN_DAYS} days after a warm-up "
                "level shift ended: its return"
            ] = self.returns_left_out
        footer = [
            f"left out ({why}): "
            + ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))
            for why, counts in left_out.items()
        ]
        for kind in sorted(set(self.events) | set(self.points)):
            e = self.events.get(kind, Scores(0, 0, 0, 0))
            p = self.points.get(kind, Scores(0, 0, 0, 0))
            lines.append(
                f"{kind:<12} {e.true_count:>5} {e.detected_count:>6} "
                f"{_fmt(e.precision):>9} {_fmt(e.recall):>7} {_fmt(e.f1):>6}   "
                f"{_fmt(p.precision):>7} {_fmt(p.recall):>7} {_fmt(p.f1):>8}"
            )
        return lines + footer

    def summary(self) -> str:
        """Event-level F1 per type in one line, or why there is none."""
        scores = ", ".join(
            f"{kind} {s.f1:.2f}"
            for kind, s in sorted(self.events.items())
            if s.f1 is not None
        )
        if scores:
            return f"event F1 {scores}"
        # e.g. a lake of a few days: every true event falls in the warm-up
        left_out = sum(n for counts in self.excluded.values() for n in counts.values())
        return f"event F1: no true event to score ({left_out} left out)"

    def to_json(self) -> str:
        """The report as JSON, written to the lake beside the truth."""

        def scores(level: dict[str, Scores]) -> dict[str, dict]:
            return {
                kind: {
                    **asdict(s),
                    "precision": s.precision,
                    "recall": s.recall,
                    "f1": s.f1,
                }
                for kind, s in sorted(level.items())
            }

        return json.dumps(
            {
                "evaluated_at_utc": datetime.now(UTC).isoformat(timespec="seconds"),
                "matching": "same meter, same type, overlapping time spans",
                "warm_up_days": WARM_UP_DAYS,
                "left_out": {
                    reason: dict(sorted(counts.items()))
                    for reason, counts in sorted(self.excluded.items())
                },
                "returns_left_out": {
                    "days_after_a_warm_up_level_shift": RETURN_DAYS,
                    "detected": dict(sorted(self.returns_left_out.items())),
                },
                "events": scores(self.events),
                "points": scores(self.points),
            },
            indent=2,
        )


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def score(
    connection: duckdb.DuckDBPyConnection, detected: str, truth: str
) -> Evaluation:
    """Score the events of relation `detected` against relation `truth`.

    Both need meter_id, anomaly_type, start_utc and end_utc (end exclusive).
    """
    started = time.perf_counter()
    evaluation = Evaluation()
    rows = connection.sql(
        f"""
        with
        truth_set as (select row_number() over () as id, * from {truth}),
        detected_set as (select row_number() over () as id, * from {detected}),
        pairs as (
            select t.id as truth_id, d.id as detected_id, t.anomaly_type
            from truth_set as t
            inner join detected_set as d
                on t.meter_id = d.meter_id
                and t.anomaly_type = d.anomaly_type
                and t.start_utc < d.end_utc
                and d.start_utc < t.end_utc
        ),
        types as (
            select anomaly_type from truth_set union select anomaly_type from detected_set
        )
        select
            types.anomaly_type,
            (select count(*) from truth_set t where t.anomaly_type = types.anomaly_type),
            (select count(*) from detected_set d where d.anomaly_type = types.anomaly_type),
            (select count(distinct truth_id) from pairs where pairs.anomaly_type = types.anomaly_type),
            (select count(distinct detected_id) from pairs where pairs.anomaly_type = types.anomaly_type)
        from types
        order by 1
        """
    ).fetchall()
    for kind, true_count, found, matched_true, matched_found in rows:
        evaluation.events[kind] = Scores(true_count, found, matched_true, matched_found)
    hours = connection.sql(
        f"""
        with
        truth_hours as (
            select distinct meter_id, anomaly_type, unnest(generate_series(
                date_trunc('hour', start_utc), end_utc - interval 1 second, interval 1 hour
            )) as hour_start
            from {truth}
        ),
        detected_hours as (
            select distinct meter_id, anomaly_type, unnest(generate_series(
                date_trunc('hour', start_utc), end_utc - interval 1 second, interval 1 hour
            )) as hour_start
            from {detected}
        ),
        both_hours as (
            select
                coalesce(t.anomaly_type, d.anomaly_type) as anomaly_type,
                t.hour_start is not null as is_true,
                d.hour_start is not null as is_detected
            from truth_hours as t
            full outer join detected_hours as d
                using (meter_id, anomaly_type, hour_start)
        )
        select
            anomaly_type,
            count(*) filter (where is_true),
            count(*) filter (where is_detected),
            count(*) filter (where is_true and is_detected)
        from both_hours
        group by anomaly_type
        order by 1
        """
    ).fetchall()
    for kind, true_count, found, both in hours:
        evaluation.points[kind] = Scores(true_count, found, both, both)
    evaluation.seconds = time.perf_counter() - started
    return evaluation


def _feature_dates(lake: Lake) -> tuple[date | None, date | None]:
    """The first and last reading dates of the features: the partition folders' names.

    Read from the lake's listing, not through the warehouse, whose views over
    an S3 lake need credentials this connection does not have.
    """
    dates = {
        Lake.reading_date_of(uri) for uri in lake.list(lake.anomaly_features_prefix())
    } - {None}
    if not dates:
        return None, None
    return min(dates), max(dates)


def evaluate(lake: Lake, warehouse: str) -> Evaluation:
    """Score `fct_anomalies` in the warehouse against the lake's `_truth/`.

    Writes the report to `<lake>/_truth/evaluation.json`.

    Raises:
        EvaluationError: no ground truth (not a simulated lake) or no anomalies mart.

    """
    truth_uri = lake.truth(TRUTH_FILE)
    if not lake.exists(truth_uri):
        raise EvaluationError(
            f"no ground truth at {truth_uri}: evaluation needs a simulated lake "
            "(`wattlake simulate`), real exports have no labels"
        )
    truth_table = pq.read_table(arrow_input(lake.read_bytes(truth_uri)))
    connection = duckdb.connect(warehouse, read_only=True)
    try:
        connection.sql("set TimeZone = 'UTC'")
        connection.register("truth_events", truth_table)
        found = connection.sql(
            "select count(*) from information_schema.tables where table_name = 'fct_anomalies'"
        ).fetchone()[0]
        if not found:
            raise EvaluationError(
                f"no fct_anomalies in {warehouse}: run `wattlake transform` after `wattlake features`"
            )
        first, last = _feature_dates(lake)
        kinds = ", ".join(f"'{kind}'" for kind in PROFILE_TYPES)
        shortest = ", ".join(
            f"('{kind}', {hours[0]})" for kind, hours in DURATION_HOURS.items()
        )
        connection.sql(
            f"""
            create temp table scored_truth as
            with
            events as (
                select
                    meter_id, anomaly_type,
                    start_utc::timestamp as start_utc, end_utc::timestamp as end_utc
                from truth_events
            ),
            shortest (anomaly_type, hours) as (values {shortest}),
            data_end as (select ?::timestamp + interval 1 day as end_utc)
            select
                events.*,
                case
                    when
                        events.anomaly_type in ({kinds})
                        and events.start_utc < ?::timestamp + interval {WARM_UP_DAYS} day
                        then 'warm_up'
                    when
                        events.end_utc > data_end.end_utc - interval 1 day
                        and date_diff(
                            'second', events.start_utc,
                            least(events.end_utc, data_end.end_utc)
                        ) < 3600 * shortest.hours
                        then 'cut_off'
                end as left_out
            from events
            cross join data_end
            left join shortest on events.anomaly_type = shortest.anomaly_type
            """,
            params=[last, first],
        )
        # a detected event is left out with the true event it overlaps: the
        # detector could not judge that time fairly, whatever it called it;
        # and with a warm-up level shift whose return it is (unless it
        # matches a judged true event)
        connection.sql(
            f"""
            create temp table detected as
            select
                meter_id, anomaly_type, start_utc, end_utc,
                case
                    when exists (
                        select 1 from scored_truth as t
                        where
                            t.meter_id = d.meter_id
                            and t.start_utc < d.end_utc and d.start_utc < t.end_utc
                            and (
                                t.left_out = 'cut_off'
                                or (
                                    t.left_out = 'warm_up'
                                    and d.anomaly_type in ({kinds})
                                )
                            )
                    ) then 'overlap'
                    when
                        d.anomaly_type in ({kinds})
                        and exists (
                            select 1 from scored_truth as t
                            where
                                t.meter_id = d.meter_id
                                and t.left_out = 'warm_up'
                                and t.anomaly_type = 'level_shift'
                                and d.start_utc >= t.end_utc
                                and d.start_utc < t.end_utc + interval {RETURN_DAYS} day
                        )
                        and not exists (
                            select 1 from scored_truth as t
                            where
                                t.meter_id = d.meter_id
                                and t.anomaly_type = d.anomaly_type
                                and t.left_out is null
                                and t.start_utc < d.end_utc and d.start_utc < t.end_utc
                        )
                        then 'return'
                end as left_out
            from fct_anomalies as d
            """
        )
        connection.sql(
            "create temp table scored_detected as "
            "select * exclude (left_out) from detected where left_out is null"
        )
        evaluation = score(
            connection,
            "scored_detected",
            "(select * exclude (left_out) from scored_truth where left_out is null)",
        )
        for reason, kind, count in connection.sql(
            "select left_out, anomaly_type, count(*) from scored_truth "
            "where left_out is not null group by all"
        ).fetchall():
            evaluation.excluded.setdefault(reason, {})[kind] = count
        for kind, count in connection.sql(
            "select anomaly_type, count(*) from detected "
            "where left_out = 'return' group by all"
        ).fetchall():
            evaluation.returns_left_out[kind] = count
    finally:
        connection.close()
    lake.write_bytes(lake.truth(REPORT_FILE), evaluation.to_json().encode())
    return evaluation
