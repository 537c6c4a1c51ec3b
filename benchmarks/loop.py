"""Does the loop help? Exported corrections retrain the Banking77 replay's model.

    python benchmarks/loop.py                  # seeds 0 1 2
    python benchmarks/loop.py --seeds 0

For each seed the replay is ingested into PostgreSQL through the app's services (as
`load_demo` does). Then, through the export service only (never the replay's truth):

1. Likely-wrong corrections: an export of every resolved correction with flagged rows
   marked; its `flagged` column is compared with the replay's careless corrections (which
   only this benchmark knows): how many are caught, how many good corrections are flagged.
2. Retraining: the resolved corrections of the first half of the traffic (served before the
   middle of the replay) are exported and added to the training rows of the replay's
   baseline model (v1, trained on 10 % of the training queries); accuracy is measured on the
   queries of the second half, against their true labels. Next to it: the same rows with
   their true labels (ideal corrections), all first-half queries with their true labels, the
   same number of random first-half queries with true labels, and the export with flagged
   corrections excluded.
"""

import argparse
import io
import json
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import django_setup, fresh_database, machine  # noqa: E402

END = datetime(2025, 6, 2, tzinfo=UTC)  # fixed, so every run serves the same replay


def export_rows(project, **kwargs) -> tuple[list[dict], dict]:
    """Request and build an export through the services; its rows and manifest."""
    from triage.services.export_build import export_build
    from triage.services.exports import export_request

    export = export_request(project=project, format="jsonl", **kwargs)
    export_build(export_id=export.id)
    export.refresh_from_db()
    assert export.status == "succeeded", export.error
    with open(export.file.path, "rb") as handle:
        rows = [json.loads(line) for line in handle]
    return rows, export.manifest


def accuracy(train_texts, train_labels, test_texts, test_labels, seed) -> float:
    from feedback.replay import baseline_model

    model = baseline_model(seed).fit(train_texts, train_labels)
    return float(np.mean(model.predict(test_texts) == np.asarray(test_labels)))


def run_seed(seed: int) -> dict:
    from sklearn.model_selection import train_test_split

    from feedback.demo import demo_load
    from feedback.models import Project
    from feedback.replay import VERSION_TRAIN_SHARE, build_replay, load_banking77

    replay = build_replay(seed=seed, end=END)
    demo_load(slug=f"loop-{seed}", seed=seed, end=END)
    project = Project.objects.get(slug=f"loop-{seed}")

    # 1. The check, over every correction.
    rows, manifest = export_rows(project, flagged="mark")
    careless_requests = {
        item["request_id"] for item in replay.feedback if item["external_id"] in replay.careless
    }
    exported_careless = {r["request_id"] for r in rows} & careless_requests
    flagged = {r["request_id"] for r in rows if r["flagged"]}
    good = len(rows) - len(exported_careless)
    check = {
        "rows": len(rows),
        "careless_in_export": len(exported_careless),
        "careless_caught": len(flagged & exported_careless),
        "good_flagged": len(flagged - exported_careless),
        "good_rows": good,
        "checked": manifest["flagged"]["checked"],
    }

    # 2. Retraining with the first half's corrections, evaluated on the second half.
    served = {p["request_id"]: p["served_at"] for p in replay.predictions}
    middle = sorted(served.values())[len(served) // 2]
    first = [p for p in replay.predictions if p["served_at"] < middle]
    second = [p for p in replay.predictions if p["served_at"] >= middle]
    until = datetime.fromisoformat(middle)
    rows, _ = export_rows(project, filters={"until": until}, flagged="mark")
    kept_rows, kept_manifest = export_rows(project, filters={"until": until}, flagged="exclude")

    train, _, _ = load_banking77()
    part, _ = train_test_split(
        train, train_size=VERSION_TRAIN_SHARE["v1"], stratify=train.category, random_state=seed
    )
    base_texts, base_labels = part.text.tolist(), part.category.tolist()
    test_texts = [p["input_text"] for p in second]
    test_labels = [replay.true_label[p["request_id"]] for p in second]

    def with_rows(texts, labels) -> float:
        return accuracy(
            base_texts + list(texts), base_labels + list(labels), test_texts, test_labels, seed
        )

    rng = np.random.default_rng(seed)
    random_rows = [first[i] for i in rng.choice(len(first), size=len(rows), replace=False)]
    truth = replay.true_label
    results = {
        "before (v1 training rows only)": with_rows([], []),
        "exported corrections": with_rows(
            [r["input_text"] for r in rows], [r["corrected_label"] for r in rows]
        ),
        "exported corrections, flagged excluded": with_rows(
            [r["input_text"] for r in kept_rows], [r["corrected_label"] for r in kept_rows]
        ),
        "same rows, true labels (ideal corrections)": with_rows(
            [r["input_text"] for r in rows], [truth[r["request_id"]] for r in rows]
        ),
        "same number of random first-half rows, true labels": with_rows(
            [p["input_text"] for p in random_rows], [truth[p["request_id"]] for p in random_rows]
        ),
        "all first-half rows, true labels": with_rows(
            [p["input_text"] for p in first], [truth[p["request_id"]] for p in first]
        ),
    }
    careless_in_half = {r["request_id"] for r in rows} & careless_requests
    return {
        "seed": seed,
        "check": check,
        "retraining": {
            "first_half_predictions": len(first),
            "second_half_predictions": len(second),
            "exported_rows": len(rows),
            "careless_in_export": len(careless_in_half),
            "rows_after_excluding_flagged": len(kept_rows),
            "excluded_flagged": kept_manifest["excluded"]["flagged"],
            "accuracy": {name: round(value, 4) for name, value in results.items()},
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    django_setup(fresh_database("voc_bench_loop"))
    from django.conf import settings

    import triage.services.exports as export_services

    settings.VOC_FEEDBACK_INGESTED_TASKS = []  # measure the loop, not the broker
    export_services.publish = lambda *args: False  # this process builds the exports itself
    with tempfile.TemporaryDirectory() as folder:
        settings.MEDIA_ROOT = folder
        seeds = [run_seed(seed) for seed in args.seeds]
    check = {
        key: sum(s["check"][key] for s in seeds)
        for key in ("careless_in_export", "careless_caught", "good_rows", "good_flagged")
    }
    names = seeds[0]["retraining"]["accuracy"].keys()
    mean_accuracy = {
        name: round(float(np.mean([s["retraining"]["accuracy"][name] for s in seeds])), 4)
        for name in names
    }
    figures = {
        "machine": machine(),
        "seeds": seeds,
        "check_total": {
            **check,
            "caught_share": round(check["careless_caught"] / check["careless_in_export"], 3),
            "good_flagged_share": round(check["good_flagged"] / check["good_rows"], 3),
            "precision": round(
                check["careless_caught"] / max(1, check["careless_caught"] + check["good_flagged"]),
                3,
            ),
        },
        "mean_accuracy": mean_accuracy,
    }
    out = io.StringIO()
    json.dump(figures, out, indent=2)
    print(out.getvalue())
    if args.json:
        args.json.write_text(out.getvalue())


if __name__ == "__main__":
    main()
