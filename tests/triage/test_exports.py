"""Dataset exports: resolving corrections, snapshots, manifests, filters, split, formats."""

import hashlib
import io
import json
import os
import stat
from datetime import timedelta

import pandas as pd
import pytest
from django.utils import timezone

from core.csv_safe import neutralise
from core.models import AuditEvent
from feedback.models import Feedback
from tests.factories import (
    ErrorCategoryFactory,
    FeedbackFactory,
    ModelVersionFactory,
    PredictionFactory,
)
from triage.exports.resolve import resolve
from triage.exports.rows import COLUMNS, ExportRow
from triage.exports.split import near_duplicate_key, split_side
from triage.exports.writers import CsvWriter
from triage.models import (
    DatasetExport,
    ImprovementPoint,
    ItemAssignment,
)
from triage.services.export_build import export_build, exports_sweep
from triage.services.exports import (
    UNKNOWN_CATEGORIES,
    UNKNOWN_VERSIONS,
    ExportInvalid,
    export_request,
)


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def correct(prediction, label, *, minutes=0, **fields):
    return FeedbackFactory(
        prediction=prediction,
        corrected_label=label,
        created_at=timezone.now() + timedelta(minutes=minutes),
        **fields,
    )


def build(export) -> DatasetExport:
    export_build(export_id=export.id)
    export.refresh_from_db()
    return export


def rows_of(export) -> list[dict]:
    with open(export.file.path, "rb") as handle:
        return [json.loads(line) for line in handle]


def jsonl_export(project, **kwargs):
    return build(export_request(project=project, format="jsonl", **kwargs))


# --- resolution ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("labels", "policy", "expected"),
    [
        (["a"], "unanimous", ("a", 1.0)),
        (["a", "b"], "latest", ("b", 0.5)),
        (["a", "b", "a"], "majority", ("a", 2 / 3)),
        (["a", "b"], "majority", (None, 0.0)),
        (["a", "b", "b", "c", "c"], "majority", (None, 0.0)),
        (["a", "a"], "unanimous", ("a", 1.0)),
        (["a", "a", "b"], "unanimous", (None, 0.0)),
    ],
)
def test_it_resolves_corrections_by_policy(labels, policy, expected):
    outcome = resolve(labels, policy)

    assert (outcome.label, outcome.agreement) == expected


# --- writers ---------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["=1+1", "+cmd", "-2", "@SUM(A1)", "\tx", "\rx"])
def test_csv_cells_that_would_run_as_formulas_are_neutralised(text):
    raw = io.BytesIO()
    writer = CsvWriter(raw)
    row = ExportRow(
        request_id="r1", input_text=text, predicted_label="a", corrected_label="b",
        model_version="v1", served_at=timezone.now(), n_feedback=1, n_corrections=1,
        agreement=1.0, feedback_ids=[1], category_ids=[], split=None, flagged=None,
        in_reference=None, source="customer",
    )  # fmt: skip
    writer.write([row])
    writer.close()

    frame = pd.read_csv(io.BytesIO(raw.getvalue()), keep_default_na=False)
    assert neutralise(text) == "'" + text
    assert frame.loc[0, "input_text"] == "'" + text
    assert list(frame.columns) == list(COLUMNS)


def test_harmless_csv_cells_are_left_alone():
    assert neutralise("where is my card?") == "where is my card?"
    assert neutralise("a=b") == "a=b"


# --- requests and numbering ------------------------------------------------------------------


def test_exports_are_numbered_per_project(project):
    from tests.factories import ProjectFactory

    other = ProjectFactory()
    first = export_request(project=project, format="csv")
    second = export_request(project=project, format="jsonl")
    elsewhere = export_request(project=other, format="csv")

    assert (first.label, second.label, elsewhere.label) == ("v1", "v2", "v1")
    assert AuditEvent.objects.filter(action="export_requested", target_id=second.id).exists()


def test_a_request_naming_another_projects_category_or_an_unknown_version_is_refused(project):
    from tests.factories import ProjectFactory

    foreign = ErrorCategoryFactory(project=ProjectFactory(), title="elsewhere")

    with pytest.raises(ExportInvalid) as caught:
        export_request(
            project=project,
            format="csv",
            filters={"categories": [foreign.id], "model_versions": ["v404"]},
        )

    assert caught.value.errors == {
        "filters.categories": [UNKNOWN_CATEGORIES.format(ids=foreign.id)],
        "filters.model_versions": [UNKNOWN_VERSIONS.format(names="v404")],
    }
    assert not DatasetExport.objects.exists()


# --- building --------------------------------------------------------------------------------


def test_it_exports_one_row_per_corrected_prediction_with_provenance(project):
    prediction = PredictionFactory(project=project, input_text="Where is my new card?")
    first = correct(prediction, "card_not_working")
    second = correct(prediction, "card_not_working", minutes=1)
    complaint = FeedbackFactory(
        prediction=prediction, kind="complaint", text="wrong!", corrected_label=""
    )
    category = ErrorCategoryFactory(project=project, title="cards")
    ItemAssignment.objects.create(feedback=complaint, category=category)
    PredictionFactory(project=project)  # not corrected: not exported

    export = jsonl_export(project)

    assert export.status == "succeeded" and export.row_count == 1
    [row] = rows_of(export)
    assert row == {
        "request_id": prediction.request_id,
        "input_text": "Where is my new card?",
        "predicted_label": "card_arrival",
        "corrected_label": "card_not_working",
        "model_version": "v1",
        "served_at": prediction.served_at.isoformat().replace("+00:00", "Z"),
        "n_feedback": 3,
        "n_corrections": 2,
        "agreement": 1.0,
        "feedback_ids": sorted([first.id, second.id, complaint.id]),
        "category_ids": [category.id],
        "split": "train",
        "flagged": False,
        "in_reference": False,
        "source": "customer",
    }
    assert export.manifest["categories"] == {str(category.id): "cards"}


def test_conflicts_are_excluded_and_counted_in_the_manifest(project):
    agreed, disputed = PredictionFactory(project=project), PredictionFactory(project=project)
    correct(agreed, "exchange_rate")
    correct(agreed, "exchange_rate", minutes=1)
    correct(disputed, "exchange_rate")
    correct(disputed, "lost_or_stolen_card", minutes=1)

    unanimous = jsonl_export(project, resolution_policy="unanimous")
    latest = jsonl_export(project, resolution_policy="latest")

    assert [r["request_id"] for r in rows_of(unanimous)] == [agreed.request_id]
    assert unanimous.manifest["excluded"]["conflicts"] == 1
    assert {r["request_id"]: r["corrected_label"] for r in rows_of(latest)} == {
        agreed.request_id: "exchange_rate",
        disputed.request_id: "lost_or_stolen_card",
    }
    assert latest.manifest["excluded"]["conflicts"] == 0


def test_the_manifest_describes_the_file_it_ships_with(project, django_user_model):
    user = django_user_model.objects.create_user("dana")
    for label in ["exchange_rate", "exchange_rate", "lost_or_stolen_card"]:
        correct(PredictionFactory(project=project), label)

    export = build(
        export_request(
            project=project,
            format="parquet",
            filters={"model_versions": ["v1"]},
            resolution_policy="majority",
            actor=user,
        )
    )

    content = open(export.file.path, "rb").read()
    manifest = export.manifest
    assert manifest["file"]["sha256"] == export.sha256 == hashlib.sha256(content).hexdigest()
    assert manifest["file"]["size_bytes"] == len(content)
    assert manifest["version"] == "v1" and manifest["row_count"] == 3
    assert manifest["label_distribution"] == {"exchange_rate": 2, "lost_or_stolen_card": 1}
    assert manifest["resolution"] == "majority"
    assert manifest["filters"]["model_versions"] == ["v1"]
    assert manifest["created_by"] == {"user": "dana"}
    assert manifest["app_version"]
    assert len(pd.read_parquet(export.file.path)) == 3


def test_an_export_is_a_snapshot_of_what_was_received_when_it_was_requested(project):
    before = PredictionFactory(project=project)
    correct(before, "exchange_rate")
    export = export_request(project=project, format="jsonl")
    later = PredictionFactory(project=project)
    correct(later, "exchange_rate")
    Feedback.objects.filter(prediction=before).update(superseded_at=timezone.now())

    build(export)

    assert [r["request_id"] for r in rows_of(export)] == [before.request_id]


def test_a_built_export_is_read_only_and_never_rebuilt(project):
    correct(PredictionFactory(project=project), "exchange_rate")
    export = jsonl_export(project)
    sha, path = export.sha256, export.file.path
    correct(PredictionFactory(project=project), "exchange_rate")

    export_build(export_id=export.id)  # a redelivered message
    DatasetExport.objects.filter(id=export.id).update(status="queued")
    export.refresh_from_db()

    assert not os.stat(path).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    assert export.sha256 == sha and hashlib.sha256(open(path, "rb").read()).hexdigest() == sha


def test_corrections_a_reviewer_dismissed_and_ones_that_confirm_the_prediction_are_left_out(
    project,
):
    dismissed, confirmed = PredictionFactory(project=project), PredictionFactory(project=project)
    correct(dismissed, "exchange_rate", triage_state=Feedback.TriageState.NOT_AN_ERROR)
    correct(confirmed, "card_arrival")  # the model's own answer

    export = jsonl_export(project)

    assert export.row_count == 0
    assert export.manifest["excluded"]["dismissed_corrections"] == 1
    assert export.manifest["excluded"]["agrees_with_prediction"] == 1


# --- filters ---------------------------------------------------------------------------------


def test_filters_select_by_category_improvement_point_version_label_and_time(project):
    v2 = ModelVersionFactory(project=project, version="v2")
    old = PredictionFactory(project=project, served_at=timezone.now() - timedelta(days=30))
    new_v2 = PredictionFactory(project=project, model_version=v2)
    in_category = PredictionFactory(project=project, predicted_label="exchange_rate")
    for prediction in (old, new_v2):
        correct(prediction, "lost_or_stolen_card")
    item = correct(in_category, "card_arrival")
    category = ErrorCategoryFactory(project=project, title="rates", state="planned")
    ItemAssignment.objects.create(feedback=item, category=category)
    point = ImprovementPoint.objects.create(project=project, title="fix", kind="training_data")
    point.categories.add(category)

    def exported(**filters):
        return sorted(r["request_id"] for r in rows_of(jsonl_export(project, filters=filters)))

    assert exported(categories=[category.id]) == [in_category.request_id]
    assert exported(improvement_points=[point.id]) == [in_category.request_id]
    everything = ImprovementPoint.objects.create(project=project, title="all", kind="model")
    assert exported(improvement_points=[everything.id]) == exported(), "project-wide: all"
    assert exported(model_versions=["v2"]) == [new_v2.request_id]
    assert exported(since=timezone.now() - timedelta(days=7)) == sorted(
        [new_v2.request_id, in_category.request_id]
    )
    assert exported(until=timezone.now() - timedelta(days=7)) == [old.request_id]
    assert exported(labels=["exchange_rate"]) == [in_category.request_id]
    assert exported(reviewed_only=True) == [in_category.request_id]


# --- split -----------------------------------------------------------------------------------


def test_near_duplicates_share_a_key_and_a_side():
    assert near_duplicate_key("Card #1234 lost!!") == near_duplicate_key("card 9876  LOST")
    assert near_duplicate_key("card lost") != near_duplicate_key("card found")
    sides = {
        split_side(key=near_duplicate_key(t), validation=0.5, seed=3)
        for t in ["Where is my card?", "where is my card", "WHERE IS MY CARD!!!"]
    }
    assert len(sides) == 1


def letters(i: int) -> str:
    return "".join(chr(ord("a") + int(d)) for d in str(i))


def test_the_split_is_seeded_and_close_to_the_requested_share(project):
    for i in range(400):
        text = f"query {letters(i)}"
        correct(PredictionFactory(project=project, input_text=text), "exchange_rate")

    one = jsonl_export(project, split={"validation": 0.25, "seed": 7})
    again = jsonl_export(project, split={"validation": 0.25, "seed": 7})
    other = jsonl_export(project, split={"validation": 0.25, "seed": 8})

    sides = [r["split"] for r in rows_of(one)]
    assert sides == [r["split"] for r in rows_of(again)]
    assert sides != [r["split"] for r in rows_of(other)]
    assert 0.18 < sides.count("validation") / len(sides) < 0.32
    assert one.manifest["split_counts"] == {
        "train": sides.count("train"),
        "validation": sides.count("validation"),
    }


# --- recovery --------------------------------------------------------------------------------


def test_the_sweeper_requeues_an_export_whose_worker_died(project, monkeypatch):
    published = []
    monkeypatch.setattr("core.jobs.publish", lambda name, *args: published.append((name, args)))
    export = export_request(project=project, format="csv")
    DatasetExport.objects.filter(id=export.id).update(
        status="running", attempts=1, heartbeat_at=timezone.now() - timedelta(hours=1)
    )

    exports_sweep()

    export.refresh_from_db()
    assert export.status == "queued"
    assert published == [("triage.export_build", (export.id,))]
    assert build(export).status == "succeeded"


def test_the_sweeper_gives_up_after_the_last_attempt(project, monkeypatch):
    monkeypatch.setattr("core.jobs.publish", lambda *a: None)
    export = export_request(project=project, format="csv")
    DatasetExport.objects.filter(id=export.id).update(
        status="running", attempts=3, heartbeat_at=timezone.now() - timedelta(hours=1)
    )

    exports_sweep()

    export.refresh_from_db()
    assert export.status == "failed" and "3 attempts" in export.error
