"""The numbers of each section of the overview, from the folded rollups (`folds.py`): what is
flagged and why, before any of it is formatted as a table or a chart. Plain Python and numpy,
no Django; versions are anything with `id`, `version` and `offline_metrics`."""

from collections import defaultdict

import numpy as np

from .. import metrics
from ..slices import benjamini_hochberg
from .folds import NO_REFERENCE, BucketShares, add_counts, bucket_partial, bucket_start

# Labels shown in the confusion matrix; the rest are grouped as OTHER.
CONFUSION_TOP_LABELS = 8
TOP_PAIRS = 10
OTHER = "(other)"
# Prediction collapse: a label is flagged in a bucket when its share there is at least
# COLLAPSE_MIN_SHARE and at least COLLAPSE_RATIO times its share in the reference window.
COLLAPSE_MIN_SHARE = 0.5
COLLAPSE_RATIO = 2.0
# Buckets with fewer predictions say little about shares: not flagged, not scored for drift.
MIN_BUCKET_PREDICTIONS = 30
# The threshold explorer suggests a threshold only with this many answers above it, and only
# when the upper end of their correction rate's 95% interval is within the target.
THRESHOLD_MIN_PREDICTIONS = 100
# Offline vs online: a gap at least this large (in accuracy points) is highlighted.
GAP_HIGHLIGHT = 0.05
LABELS_IN_SHARE_CHART = 6


def headline(versions: list, per_version: dict) -> dict:
    """One line per version (correction rate with its interval, complaint rate, online proxy,
    offline accuracy) and how the newest version compares with the one before it."""
    rows = []
    for version in versions:
        c = per_version[version.id].counts
        n = c["predictions"]
        rows.append(
            {
                "version": version.version,
                "predictions": n,
                "correction_rate": metrics.rate(c["corrections"], n),
                "ci": metrics.wilson_interval(c["corrections"], n),
                "complaint_rate": metrics.rate(c["complaints"], n),
                "offline_accuracy": (version.offline_metrics or {}).get("accuracy"),
            }
        )
    comparison = None
    if len(rows) >= 2 and rows[-1]["correction_rate"] and rows[-2]["correction_rate"]:
        new, old = rows[-1], rows[-2]
        change = new["correction_rate"] / old["correction_rate"] - 1
        # Only a change whose intervals do not overlap is called better or worse.
        separated = new["ci"][1] < old["ci"][0] or new["ci"][0] > old["ci"][1]
        comparison = {
            "new": new["version"],
            "old": old["version"],
            "change": abs(change),
            "better": change < 0,
            "significant": separated,
        }
    return {"rows": rows, "comparison": comparison}


def offline_online(versions: list, per_version: dict) -> list[dict]:
    """Per version: the accuracy measured at release, the online proxies (1 − correction rate
    over all predictions and over those with feedback) and the gap between the two."""
    found = []
    for version in versions:
        c = per_version[version.id].counts
        offline = (version.offline_metrics or {}).get("accuracy")
        among = (
            1 - metrics.rate(c["corrections"], c["feedback_predictions"])
            if c["feedback_predictions"]
            else None
        )
        gap = offline - among if offline is not None and among is not None else None
        found.append(
            {
                "version": version.version,
                "offline": offline,
                "online": metrics.rate(c["predictions"] - c["corrections"], c["predictions"]),
                "among_feedback": among,
                "gap": gap,
                "predictions": c["predictions"],
                "feedback_predictions": c["feedback_predictions"],
                "corrections": c["corrections"],
                "highlighted": gap is not None and abs(gap) >= GAP_HIGHLIGHT,
            }
        )
    return found


def confusion(per_version: dict, categories: dict) -> dict:
    """The corrected pairs of all versions together: a grid of the predicted labels corrected
    most (rows) by what they were corrected to (columns; a row's other corrections as OTHER),
    with how many corrections it holds of all (`shown`, `total`), the TOP_PAIRS pairs with the error
    category that names them (`categories`: (predicted, corrected) -> category), and per
    predicted label its predictions, corrections and precision proxy, most predicted first."""
    pairs: dict[str, dict[str, int]] = {}
    labels: dict[str, int] = {}
    for totals in per_version.values():
        for predicted, corrected in totals.pairs.items():
            add_counts(pairs.setdefault(predicted, {}), corrected)
        add_counts(labels, totals.labels)
    flat = [
        (n, predicted, label)
        for predicted, corrected in pairs.items()
        for label, n in corrected.items()
    ]
    rows, columns = _confusion_axes(flat)
    corrected_to = {p: dict.fromkeys(columns, 0) for p in rows}
    for n, predicted, label in flat:
        if predicted in corrected_to:
            column = label if label in columns else OTHER
            corrected_to[predicted].setdefault(column, 0)
            corrected_to[predicted][column] += n
    if any(OTHER in cells for cells in corrected_to.values()):
        columns.append(OTHER)
        for cells in corrected_to.values():
            cells.setdefault(OTHER, 0)
    shown = sum(n for cells in corrected_to.values() for c, n in cells.items() if c != OTHER)
    corrections_of = {p: sum(c.values()) for p, c in pairs.items()}
    top_pairs = [
        {
            "predicted": predicted,
            "corrected": label,
            "count": n,
            "share": metrics.rate(n, corrections_of[predicted]),
            "category": categories.get((predicted, label)),
        }
        for n, predicted, label in sorted(flat, key=lambda t: (-t[0], t[1], t[2]))[:TOP_PAIRS]
    ]
    precision = []
    for label in sorted(labels, key=lambda k: (-labels[k], k)):
        n, k = labels[label], corrections_of.get(label, 0)
        precision.append((label, n, k, 1 - k / n if n else None))
    return {
        "rows": rows,
        "columns": columns,
        "matrix": corrected_to,
        "shown": shown,
        "total": sum(n for n, _, _ in flat),
        "pairs": top_pairs,
        "precision": precision,
    }


def _confusion_axes(flat: list[tuple[int, str, str]]) -> tuple[list[str], list[str]]:
    """The grid's rows (predicted labels) and columns (what they were corrected to): taken
    from the pairs with the most corrections, up to CONFUSION_TOP_LABELS each, so that the
    grid holds the corrections and not the zeros between unrelated labels. Rows by their
    corrections, columns by theirs within the rows."""
    rows: list[str] = []
    columns: list[str] = []
    for _, predicted, label in sorted(flat, key=lambda t: (-t[0], t[1], t[2])):
        row_fits = predicted in rows or len(rows) < CONFUSION_TOP_LABELS
        column_fits = label in columns or len(columns) < CONFUSION_TOP_LABELS
        if row_fits and column_fits:
            rows += [predicted] if predicted not in rows else []
            columns += [label] if label not in columns else []
    row_total: dict[str, int] = defaultdict(int)
    column_total: dict[str, int] = defaultdict(int)
    for n, predicted, label in flat:
        if predicted in rows:
            row_total[predicted] += n
            column_total[label] += n
    rows.sort(key=lambda p: (-row_total[p], p))
    columns.sort(key=lambda c: (-column_total[c], c))
    return rows, columns


def collapse(versions: list, cells: BucketShares, references: dict, names: dict) -> dict:
    """Each bucket's most frequent label and its share there and in the reference, flagged
    when it took over (`buckets`); and the shares of the LABELS_IN_SHARE_CHART labels most
    predicted overall, all versions of a bucket together, the rest as OTHER (`shares`)."""
    buckets = []
    wanted = {v.id for v in versions}
    totals = cells.counts.sum(axis=1).tolist()
    # The most frequent label of each cell; the first in label order on a tie.
    tops = cells.counts.argmax(axis=1).tolist() if cells.labels else [0] * len(cells.keys)
    top_counts = cells.counts[np.arange(len(tops)), tops].tolist() if cells.labels else tops
    reference_totals = {
        version_id: sum(reference.labels.values())
        for version_id, (reference, _) in references.items()
    }
    for i in cells.order():
        start, version_id = cells.keys[i]
        if version_id not in wanted or not totals[i]:
            continue
        label, share = cells.labels[tops[i]], top_counts[i] / totals[i]
        reference = references.get(version_id, NO_REFERENCE)[0]
        ref_share = metrics.rate(
            reference.labels.get(label, 0), reference_totals.get(version_id, 0)
        )
        flagged = (
            not cells.partial[i]
            and cells.predictions[i] >= MIN_BUCKET_PREDICTIONS
            and share >= COLLAPSE_MIN_SHARE
            and (ref_share is None or share >= COLLAPSE_RATIO * ref_share)
        )
        buckets.append(
            {
                "start": start,
                "version": names[version_id],
                "predictions": cells.predictions[i],
                "label": label,
                "share": share,
                "reference_share": ref_share,
                "partial": cells.partial[i],
                "flagged": flagged,
            }
        )
    starts = sorted({start for start, _ in cells.keys})
    start_index = {start: j for j, start in enumerate(starts)}
    combined = np.zeros((len(starts), len(cells.labels)), dtype=np.int64)
    if len(cells.keys):
        np.add.at(combined, [start_index[start] for start, _ in cells.keys], cells.counts)
    overall = combined.sum(axis=0).tolist()
    shown = sorted(
        (j for j, n in enumerate(overall) if n), key=lambda j: (-overall[j], cells.labels[j])
    )[:LABELS_IN_SHARE_CHART]
    start_totals = combined.sum(axis=1).tolist()
    others = (start_totals - combined[:, shown].sum(axis=1)).tolist()
    shares = {
        "starts": starts,
        "labels": [*(cells.labels[j] for j in shown), OTHER],
        "counts": [*(combined[:, j].tolist() for j in shown), others],
        "totals": start_totals,
    }
    return {"buckets": buckets, "shares": shares}


def drift(versions: list, cells: BucketShares, references: dict, names: dict) -> list[dict]:
    """Whether the predicted labels and the confidence of each whole bucket with enough
    predictions moved from its version's reference beyond noise (`metrics.shift_rows`; the
    p-values adjusted across every bucket and both distributions), by how much (PSI of
    smoothed shares) and which label moved most, by bucket start."""
    wanted = {v.id for v in versions}
    scored = [
        i
        for i in cells.order()
        if cells.keys[i][1] in wanted
        and cells.predictions[i] >= MIN_BUCKET_PREDICTIONS
        and not cells.partial[i]
    ]
    # One version at a time: its cells against its reference, as matrix operations.
    shift_labels: dict[int, dict | None] = {}
    shift_conf: dict[int, dict | None] = {}
    for version_id in {cells.keys[i][1] for i in scored}:
        mine = [i for i in scored if cells.keys[i][1] == version_id]
        reference = references.get(version_id, NO_REFERENCE)[0]
        labels = metrics.shift_rows(cells.label_vector(reference.labels), cells.counts[mine])
        conf = metrics.shift_rows(np.asarray(reference.conf_n), cells.conf[mine])
        shift_labels.update(zip(mine, labels, strict=True))
        shift_conf.update(zip(mine, conf, strict=True))
    tested = [
        (i, kind, found["p_value"])
        for kind, found_of in (("labels", shift_labels), ("confidence", shift_conf))
        for i, found in found_of.items()
        if found is not None
    ]
    q_of = dict(
        zip(
            [(i, kind) for i, kind, _ in tested],
            benjamini_hochberg([p for _, _, p in tested]),
            strict=True,
        )
    )
    found = []
    for i in scored:
        start, version_id = cells.keys[i]
        labels, conf = shift_labels[i], shift_conf[i]
        q_labels, q_conf = q_of.get((i, "labels")), q_of.get((i, "confidence"))
        bands = (
            metrics.shift_band(labels and labels["psi"], q_labels),
            metrics.shift_band(conf and conf["psi"], q_conf),
        )
        moved = None
        if labels is not None and bands[0] not in ("", "stable"):
            moved = cells.labels[labels["bin"]]
        found.append(
            {
                "start": start,
                "version": names[version_id],
                "predictions": cells.predictions[i],
                "psi_labels": labels and labels["psi"],
                "q_labels": q_labels,
                "labels_band": bands[0],
                "label_moved": moved,
                "psi_confidence": conf and conf["psi"],
                "q_confidence": q_conf,
                "confidence_band": bands[1],
                "reference": references.get(version_id, NO_REFERENCE)[1],
                "flagged": "significant" in bands,
            }
        )
    return found


def reliability(versions: list, per_version: dict, target_correction_rate: float) -> list[dict]:
    """Per version: the correction rate per confidence bin (`curve`), and what each threshold
    would leave to a human, with the lowest one suggested whose automatic answers are enough
    (THRESHOLD_MIN_PREDICTIONS) and corrected within the target even at the upper end of
    their 95% interval (`thresholds`)."""
    found = []
    for version in versions:
        totals = per_version[version.id]
        table = metrics.threshold_table(totals.conf_n, totals.conf_k)
        suggested = next(
            (
                t["threshold"]
                for t in table
                if t["predictions_above"] >= THRESHOLD_MIN_PREDICTIONS
                and t["ci_above"][1] <= target_correction_rate
            ),
            None,
        )
        row = next((t for t in table if t["threshold"] == suggested), None)
        found.append(
            {
                "version": version.version,
                "curve": metrics.reliability(totals.conf_n, totals.conf_k),
                "thresholds": {
                    "version": version.version,
                    "rows": table,
                    "suggested": suggested,
                    "share_answered": row["share_above"] if row else None,
                    "rate_answered": row["correction_rate_above"] if row else None,
                    "ci_answered": row["ci_above"] if row else None,
                    "predictions_answered": row["predictions_above"] if row else None,
                    "min_predictions": THRESHOLD_MIN_PREDICTIONS,
                },
            }
        )
    return found


def service(versions: list, per_version: dict, sla_p95_ms: float | None) -> list[dict]:
    """Per version: predictions per second (over the hours with traffic, and the busiest
    second), latency quantiles from the sketch, and whether the p95 breaks the SLA."""
    found = []
    for version in versions:
        totals = per_version[version.id]
        n = totals.counts["predictions"]
        p95 = metrics.sketch_quantile(totals.sketch, 0.95)
        found.append(
            {
                "version": version.version,
                "predictions": n,
                "hours": totals.hours,
                "per_second": n / (totals.hours * 3600) if totals.hours else None,
                "peak": totals.peak,
                "p50": metrics.sketch_quantile(totals.sketch, 0.5),
                "p95": p95,
                "sla": sla_p95_ms,
                "breach": p95 is not None and sla_p95_ms is not None and p95 > sla_p95_ms,
            }
        )
    return found


def latency_series(
    rows: list[dict], bucket: str, names: dict, since=None, until=None
) -> list[dict]:
    """Latency p50 and p95 per (bucket, version) from the rows' sketches, oldest first, each
    marked partial when the period holds only part of its bucket."""
    sketches: dict[tuple, dict[int, int]] = {}
    for row in rows:
        if row["model_version_id"] not in names or not row.get("latency_sketch"):
            continue
        key = (bucket_start(row["hour"], bucket), row["model_version_id"])
        sketch = sketches.setdefault(key, {})
        for value, n in row["latency_sketch"].items():
            sketch[int(value)] = sketch.get(int(value), 0) + n
    order = list(names)
    return [
        {
            "start": start,
            "version": names[version_id],
            "latencies": sum(sketch.values()),
            "p50": metrics.sketch_quantile(sketch, 0.5),
            "p95": metrics.sketch_quantile(sketch, 0.95),
            "partial": bucket_partial(start, bucket, since, until),
        }
        for (start, version_id), sketch in sorted(
            sketches.items(), key=lambda item: (item[0][0], order.index(item[0][1]))
        )
    ]
