"""The numbers of each section of the overview, from the folded rollups (`folds.py`): what is
flagged and why, before any of it is formatted as a table or a chart. Plain Python and numpy,
no Django; versions are anything with `id`, `version` and `offline_metrics`."""

from collections import defaultdict

import numpy as np

from .. import metrics
from .folds import NO_REFERENCE, BucketShares, add_counts

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
    """The corrected pairs of all versions together: a matrix over the CONFUSION_TOP_LABELS
    labels most involved (the rest grouped as OTHER), the TOP_PAIRS pairs with the error
    category that names them (`categories`: (predicted, corrected) -> category), and per
    predicted label its predictions, corrections and precision proxy, most predicted first."""
    pairs: dict[str, dict[str, int]] = {}
    labels: dict[str, int] = {}
    for totals in per_version.values():
        for predicted, corrected in totals.pairs.items():
            add_counts(pairs.setdefault(predicted, {}), corrected)
        add_counts(labels, totals.labels)
    involvement: dict[str, int] = defaultdict(int)
    flat = []
    for predicted, corrected in pairs.items():
        for label, n in corrected.items():
            involvement[predicted] += n
            involvement[label] += n
            flat.append((n, predicted, label))
    top = sorted(involvement, key=lambda k: (-involvement[k], k))[:CONFUSION_TOP_LABELS]
    axis = top + ([OTHER] if len(involvement) > len(top) else [])
    matrix = {p: dict.fromkeys(axis, 0) for p in axis}
    for n, predicted, label in flat:
        p = predicted if predicted in top else OTHER
        c = label if label in top else OTHER
        matrix[p][c] += n
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
    return {"axis": axis, "matrix": matrix, "pairs": top_pairs, "precision": precision}


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
            cells.predictions[i] >= MIN_BUCKET_PREDICTIONS
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
    """The PSI of the predicted labels and of the confidence of every bucket with enough
    predictions against its version's reference, with their bands, by bucket start."""
    wanted = {v.id for v in versions}
    scored = [
        i
        for i in cells.order()
        if cells.keys[i][1] in wanted and cells.predictions[i] >= MIN_BUCKET_PREDICTIONS
    ]
    # One version at a time: its cells against its reference, as two matrix operations.
    psi_labels: dict[int, float | None] = {}
    psi_conf: dict[int, float | None] = {}
    for version_id in {cells.keys[i][1] for i in scored}:
        mine = [i for i in scored if cells.keys[i][1] == version_id]
        reference = references.get(version_id, NO_REFERENCE)[0]
        label_values = metrics.psi_rows(cells.label_vector(reference.labels), cells.counts[mine])
        conf_values = metrics.psi_rows(
            np.asarray(reference.conf_n, dtype=np.int64), cells.conf[mine]
        )
        psi_labels.update(zip(mine, label_values, strict=True))
        psi_conf.update(zip(mine, conf_values, strict=True))
    found = []
    for i in scored:
        start, version_id = cells.keys[i]
        bands = metrics.psi_band(psi_labels[i]), metrics.psi_band(psi_conf[i])
        found.append(
            {
                "start": start,
                "version": names[version_id],
                "predictions": cells.predictions[i],
                "psi_labels": psi_labels[i],
                "labels_band": bands[0],
                "psi_confidence": psi_conf[i],
                "confidence_band": bands[1],
                "reference": references.get(version_id, NO_REFERENCE)[1],
                "flagged": "significant" in bands,
            }
        )
    return found


def reliability(versions: list, per_version: dict, target_correction_rate: float) -> list[dict]:
    """Per version: the correction rate per confidence bin (`curve`), and what each threshold
    would leave to a human, with the lowest one whose answers are corrected at most at the
    target rate suggested (`thresholds`)."""
    found = []
    for version in versions:
        totals = per_version[version.id]
        table = metrics.threshold_table(totals.conf_n, totals.conf_k)
        suggested = next(
            (
                t["threshold"]
                for t in table
                if t["correction_rate_above"] is not None
                and t["correction_rate_above"] <= target_correction_rate
                and t["predictions_above"]
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
