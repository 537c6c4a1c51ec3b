"""Segment counts of a rollup hour: for each metadata key of the hour's predictions (channel,
locale, tier...) and each value, the predictions and what their feedback said; and the same
for pairs of keys with few values (two-way slices). Counted by the database in one grouped
query per kind, recounted like every other figure (a pass stays idempotent).

Bounded per hour: at most MAX_KEYS keys (by traffic), the MAX_VALUES most frequent values of
each key (the rest counted under OTHER), pairs only of the PAIR_KEYS busiest keys with at
most PAIR_MAX_VALUES values; keys listed in the project's `segment_ignore_keys` (ids) are
left out. A day or week folds its hours and keeps at most FOLD_MAX_VALUES values a key."""

from datetime import datetime

from django.db import connection

from feedback.models import Feedback, Prediction

from ..slices import FIGURES, OTHER, PREDICTIONS, SEPARATOR

MAX_KEYS = 20
MAX_VALUES = 50
FOLD_MAX_VALUES = 100
PAIR_KEYS = 6
PAIR_MAX_VALUES = 8
VALUE_CHARS = 100


def _sql(pairs: bool, ignored: list[str], pair_keys: list[str]) -> str:
    """The grouped query of one kind of segment (one-way, or pairs of `pair_keys`).

    One row per (version, key, value): the value's rank within its key over the hour (all
    versions) decides whether it keeps its name or joins OTHER."""
    postgres = connection.vendor == "postgresql"
    predictions, feedback = Prediction._meta.db_table, Feedback._meta.db_table
    if postgres:
        is_object = "jsonb_typeof(metadata) = 'object'"
        each = "CROSS JOIN LATERAL jsonb_each(p.metadata) {a}"
        scalar = "jsonb_typeof({a}.value) IN ('string', 'number', 'boolean')"
        text = f"left({{a}}.value #>> '{{{{}}}}', {VALUE_CHARS})"
        corrected, complaints = "bool_or(f.kind = 'correction')", "count(*) FILTER (WHERE {})"
        flag_sum = "count(*) FILTER (WHERE f.corrected)"
    else:
        is_object = "json_valid(metadata) AND json_type(metadata) = 'object'"
        each = ", json_each(p.metadata) {a}"
        scalar = "{a}.type IN ('text', 'integer', 'real', 'true', 'false')"
        text = (
            f"substr(CASE {{a}}.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' "
            f"ELSE CAST({{a}}.value AS TEXT) END, 1, {VALUE_CHARS})"
        )
        corrected, complaints = "max(f.kind = 'correction')", "sum(CASE WHEN {} THEN 1 ELSE 0 END)"
        flag_sum = "sum(CASE WHEN f.corrected THEN 1 ELSE 0 END)"
    count_if = complaints
    if pairs:
        joins = f"{each.format(a='a')} {each.format(a='b')}"
        keys = ", ".join(["%s"] * len(pair_keys))
        where = (
            f"{scalar.format(a='a')} AND {scalar.format(a='b')} AND a.key < b.key "
            f"AND a.key IN ({keys}) AND b.key IN ({keys})"
        )
        key = f"a.key || '{SEPARATOR}' || b.key"
        value = (
            f"replace({text.format(a='a')}, '{SEPARATOR}', ' ') || '{SEPARATOR}' || "
            f"replace({text.format(a='b')}, '{SEPARATOR}', ' ')"
        )
    else:
        joins = each.format(a="a")
        skip = ", ".join(["%s"] * len(ignored))
        where = scalar.format(a="a") + (f" AND a.key NOT IN ({skip})" if ignored else "")
        key, value = "a.key", f"replace({text.format(a='a')}, '{SEPARATOR}', ' ')"
    sql = f"""
        WITH p AS (
            SELECT id, model_version_id, metadata FROM {predictions}
            WHERE project_id = %s AND served_at >= %s AND served_at < %s AND {is_object}
        ), f AS (
            SELECT f.prediction_id, {corrected} AS corrected,
                {count_if.format("f.kind = 'complaint'")} AS complaints,
                {count_if.format("f.kind = 'rating' AND f.rating = 1")} AS up,
                {count_if.format("f.kind = 'rating' AND f.rating = -1")} AS down
            FROM {feedback} f JOIN p ON p.id = f.prediction_id
            WHERE f.project_id = %s AND f.superseded_at IS NULL
            GROUP BY f.prediction_id
        ), g AS (
            SELECT p.model_version_id AS version, {key} AS key, {value} AS value,
                count(*) AS n, {flag_sum} AS c, coalesce(sum(f.complaints), 0) AS cm,
                coalesce(sum(f.up), 0) AS up, coalesce(sum(f.down), 0) AS down
            FROM p {joins} LEFT JOIN f ON f.prediction_id = p.id
            WHERE {where}
            GROUP BY 1, 2, 3
        ), ranked AS (
            SELECT key, value, row_number() OVER (
                PARTITION BY key ORDER BY sum(n) DESC, value
            ) AS rank
            FROM g GROUP BY key, value
        )
        SELECT g.version, g.key,
            CASE WHEN ranked.rank <= {MAX_VALUES} THEN g.value ELSE '{OTHER}' END AS value,
            sum(g.n), sum(g.c), sum(g.cm), sum(g.up), sum(g.down)
        FROM g JOIN ranked ON ranked.key = g.key AND ranked.value = g.value
        GROUP BY 1, 2, 3
    """
    return sql


def _query(project_id: int, start: datetime, end: datetime, pairs, ignored, pair_keys):
    keys = [*pair_keys, *pair_keys] if pairs else list(ignored)
    # As the ORM writes them (SQLite keeps naive UTC text: an offset would compare wrong).
    start, end = (connection.ops.adapt_datetimefield_value(t) for t in (start, end))
    with connection.cursor() as cursor:
        cursor.execute(_sql(pairs, ignored, pair_keys), [project_id, start, end, project_id, *keys])
        return cursor.fetchall()


def _add(segments: dict, key: str, value: str, figures) -> None:
    counts = segments.setdefault(key, {}).setdefault(value, [0] * len(FIGURES))
    for i, n in enumerate(figures):
        counts[i] += int(n or 0)


def segments_count(
    *, project_id: int, start: datetime, end: datetime, ignored: list[str], row
) -> None:
    """The hour's segment counts into `row(version_id)["segment_counts"]`."""
    if connection.vendor == "postgresql":
        found, pairs = _grouped(project_id, start, end, ignored)
    else:
        found, pairs = _query(project_id, start, end, False, ignored, []), None
    traffic: dict[str, int] = {}
    values: dict[str, set] = {}
    for _, key, value, n, *_rest in found:
        traffic[key] = traffic.get(key, 0) + n
        values.setdefault(key, set()).add(value)
    kept = set(sorted(traffic, key=lambda k: (-traffic[k], k))[:MAX_KEYS])
    for version, key, value, *figures in found:
        if key in kept:
            _add(row(version)["segment_counts"], key, value, figures)
    few = [k for k in kept if len(values[k]) <= PAIR_MAX_VALUES and OTHER not in values[k]]
    pair_keys = sorted(sorted(few, key=lambda k: (-traffic[k], k))[:PAIR_KEYS])
    if len(pair_keys) < 2:
        return
    if pairs is None:
        pairs = _query(project_id, start, end, True, [], pair_keys)
    for version, key, value, *figures in pairs:
        if all(part in pair_keys for part in key.split(SEPARATOR)):
            _add(row(version)["segment_counts"], key, value, figures)


# PostgreSQL counts every key and pair in one scan (GROUPING SETS) over keys found in a sample.
SAMPLE_ROWS = 20_000
# A key whose sampled values are nearly all distinct is an id, not a segment (a store key of
# 500 values in an hour of 200 predictions still repeats its busiest values).
ID_LIKE_SHARE = 0.9
ID_LIKE_MIN_SAMPLE = 50


def _sample_keys(cursor, project_id, start, end, ignored) -> tuple[list[str], list[str]]:
    """The keys to count (busiest first) and the pair candidates, from the hour's first
    SAMPLE_ROWS predictions: a key seen only later in the hour is not counted."""
    cursor.execute(
        f"""
        SELECT e.key, count(*), count(DISTINCT e.value) FROM (
            SELECT metadata FROM {Prediction._meta.db_table}
            WHERE project_id = %s AND served_at >= %s AND served_at < %s
                AND jsonb_typeof(metadata) = 'object'
            ORDER BY id LIMIT {SAMPLE_ROWS}
        ) s CROSS JOIN LATERAL jsonb_each(s.metadata) e
        WHERE jsonb_typeof(e.value) IN ('string', 'number', 'boolean')
        GROUP BY e.key
        """,
        [project_id, start, end],
    )
    found = []
    for key, n, distinct in cursor.fetchall():
        if key in ignored or (n >= ID_LIKE_MIN_SAMPLE and distinct > ID_LIKE_SHARE * n):
            continue
        found.append((key, n, distinct))
    found.sort(key=lambda k: (-k[1], k[0]))
    keys = [key for key, _, _ in found[:MAX_KEYS]]
    few = [key for key, _, distinct in found[:MAX_KEYS] if distinct <= PAIR_MAX_VALUES]
    return keys, sorted(few[:PAIR_KEYS])


def _grouped(project_id: int, start: datetime, end: datetime, ignored: list[str]):
    """One-way rows (version, key, value, figures...) with values past MAX_VALUES as OTHER,
    and the rows of the pairs of keys with few values, from one grouped scan."""
    with connection.cursor() as cursor:
        start, end = (connection.ops.adapt_datetimefield_value(t) for t in (start, end))
        keys, pair_keys = _sample_keys(cursor, project_id, start, end, ignored)
        if not keys:
            return [], []
        columns = ", ".join(
            f"CASE WHEN jsonb_typeof(p.metadata -> %s) IN ('string', 'number', 'boolean') "
            f"THEN replace(left(p.metadata ->> %s, {VALUE_CHARS}), %s, ' ') END AS v{i}"
            for i in range(len(keys))
        )
        where = {key: i for i, key in enumerate(keys)}
        pairs = [(a, b) for i, a in enumerate(pair_keys) for b in pair_keys[i + 1 :]]
        sets = [f"(version, v{i})" for i in range(len(keys))]
        sets += [f"(version, v{where[a]}, v{where[b]})" for a, b in pairs]
        names = ", ".join(f"v{i}" for i in range(len(keys)))
        sql = f"""
            WITH p AS (
                SELECT id, model_version_id, metadata FROM {Prediction._meta.db_table}
                WHERE project_id = %s AND served_at >= %s AND served_at < %s
                    AND jsonb_typeof(metadata) = 'object'
            ), f AS (
                SELECT f.prediction_id, bool_or(f.kind = 'correction') AS corrected,
                    count(*) FILTER (WHERE f.kind = 'complaint') AS complaints,
                    count(*) FILTER (WHERE f.kind = 'rating' AND f.rating = 1) AS up,
                    count(*) FILTER (WHERE f.kind = 'rating' AND f.rating = -1) AS down
                FROM {Feedback._meta.db_table} f JOIN p ON p.id = f.prediction_id
                WHERE f.project_id = %s AND f.superseded_at IS NULL
                GROUP BY f.prediction_id
            ), q AS (
                SELECT p.model_version_id AS version, {columns},
                    coalesce(f.corrected, false) AS corrected, coalesce(f.complaints, 0) AS cm,
                    coalesce(f.up, 0) AS up, coalesce(f.down, 0) AS down
                FROM p LEFT JOIN f ON f.prediction_id = p.id
            )
            SELECT version, {names}, GROUPING({names}), count(*),
                count(*) FILTER (WHERE corrected), sum(cm), sum(up), sum(down)
            FROM q GROUP BY GROUPING SETS ({", ".join(sets)})
        """
        params = [p for key in keys for p in (key, key, SEPARATOR)]
        cursor.execute(sql, [project_id, start, end, project_id, *params])
        rows = cursor.fetchall()
    width = len(keys)
    one_way, two_way = [], []
    for version, *rest in rows:
        values, grouping, figures = rest[:width], rest[width], rest[width + 1 :]
        # GROUPING's bit (width - 1 - i) is 0 where v{i} is grouped in this row's set.
        grouped = [i for i in range(width) if not grouping >> (width - 1 - i) & 1]
        if any(values[i] is None for i in grouped):
            continue  # predictions without this key (or a nested value)
        if len(grouped) == 1:
            one_way.append([version, keys[grouped[0]], values[grouped[0]], *figures])
        else:
            a, b = sorted(grouped, key=lambda i: keys[i])
            key, value = f"{keys[a]}{SEPARATOR}{keys[b]}", f"{values[a]}{SEPARATOR}{values[b]}"
            two_way.append([version, key, value, *figures])
    return _bound_values(one_way), two_way


def _bound_values(found: list) -> list:
    """Values past each key's MAX_VALUES busiest (over every version) counted as OTHER."""
    traffic: dict[tuple, int] = {}
    for _, key, value, n, *_ in found:
        traffic[key, value] = traffic.get((key, value), 0) + n
    ranked: dict[str, list] = {}
    for key, value in sorted(traffic, key=lambda kv: (kv[0], -traffic[kv], kv[1])):
        ranked.setdefault(key, []).append(value)
    named = {(key, value) for key, values in ranked.items() for value in values[:MAX_VALUES]}
    out: dict[tuple, list] = {}
    for version, key, value, *figures in found:
        place = value if (key, value) in named else OTHER
        counts = out.setdefault((version, key, place), [0] * len(FIGURES))
        for i, n in enumerate(figures):
            counts[i] += int(n or 0)
    return [[version, key, value, *counts] for (version, key, value), counts in out.items()]


def segments_recount_feedback(
    *, project_id: int, start: datetime, end: datetime, ignored: list[str], kept: dict, row
) -> None:
    """An hour whose predictions retention may have deleted (only those without feedback):
    the predictions per segment stay as `kept` (version -> segment counts as counted before);
    what the feedback says is recounted over the predictions still there. A value counted
    under OTHER before stays there."""
    fresh: dict = {}
    segments_count(
        project_id=project_id,
        start=start,
        end=end,
        ignored=ignored,
        row=lambda version: fresh.setdefault(version, {"segment_counts": {}}),
    )
    for version, segments in kept.items():
        target = row(version)["segment_counts"]
        for key, by_value in (segments or {}).items():
            for value, figures in by_value.items():
                _add(target, key, value, [figures[PREDICTIONS]])
    for version, counted in fresh.items():
        target = row(version)["segment_counts"]
        for key, by_value in counted["segment_counts"].items():
            if key not in target:
                continue  # a key born after the sweep: its predictions were not counted
            for value, figures in by_value.items():
                place = value if value in target[key] else OTHER
                _add(target, key, place, [0, *figures[1:]])


def segments_fold(into: dict, segments: dict | None) -> None:
    """Add one row's segment counts to a longer span's (a day's, a week's)."""
    for key, by_value in (segments or {}).items():
        for value, figures in by_value.items():
            _add(into, key, value, figures)


def segments_bound(segments: dict, limit: int = FOLD_MAX_VALUES) -> dict:
    """At most `limit` values a key (the most predictions), the rest added to OTHER."""
    for key, by_value in segments.items():
        if len(by_value) <= limit:
            continue
        order = sorted(by_value, key=lambda v: (v == OTHER, -by_value[v][PREDICTIONS], v))
        kept = {value: by_value[value] for value in order[: limit - 1] if value != OTHER}
        rest = [0] * len(FIGURES)
        for value in order[limit - 1 :]:
            rest = [a + b for a, b in zip(rest, by_value[value], strict=True)]
        if OTHER in by_value and OTHER not in order[limit - 1 :]:
            rest = [a + b for a, b in zip(rest, by_value[OTHER], strict=True)]
        kept[OTHER] = rest
        segments[key] = kept
    return segments
