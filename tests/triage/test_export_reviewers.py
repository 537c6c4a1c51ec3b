"""Reviewers' labels in dataset exports: a reviewer's label wins over customers' corrections
under every policy, predictions only a reviewer labelled are rows of their own, the `source`
column and filter, the manifest's account, and the export's snapshot."""

import io
from datetime import timedelta

import pandas as pd
import pytest
from django.utils import timezone

from tests.factories import ErrorCategoryFactory, ModelVersionFactory, PredictionFactory
from tests.triage.test_exports import build, correct, jsonl_export, rows_of
from triage.models import ReviewerLabel
from triage.services.exports import ExportInvalid, export_request


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def verdict(prediction, label, *, reviewer="rita", minutes=-1, category=None):
    return ReviewerLabel.objects.create(
        project=prediction.project,
        prediction=prediction,
        reviewer=reviewer,
        label=label,
        category=category,
        created_at=timezone.now() + timedelta(minutes=minutes),
    )


def by_request(export) -> dict[str, dict]:
    return {row["request_id"]: row for row in rows_of(export)}


@pytest.mark.parametrize("policy", ["latest", "majority", "unanimous"])
def test_a_reviewers_label_wins_over_customers_under_every_policy(project, policy):
    disputed = PredictionFactory(project=project)
    correct(disputed, "card_not_working")
    correct(disputed, "lost_or_stolen_card", minutes=1)  # a conflict under majority/unanimous
    verdict(disputed, "card_not_working")
    plain = PredictionFactory(project=project)
    correct(plain, "exchange_rate")

    export = jsonl_export(project, resolution_policy=policy)

    rows = by_request(export)
    assert rows[disputed.request_id]["corrected_label"] == "card_not_working"
    assert rows[disputed.request_id]["source"] == "reviewer"
    assert rows[disputed.request_id]["n_corrections"] == 2
    assert rows[disputed.request_id]["agreement"] == 0.5  # one customer of two agrees
    assert rows[plain.request_id]["source"] == "customer"
    manifest = export.manifest
    assert manifest["reviewers"]["rows"] == 1
    # Under latest the customers said lost_or_stolen_card; under the others, nothing.
    assert manifest["reviewers"]["over_customers"] == 1
    assert manifest["excluded"]["conflicts"] == 0
    assert "every resolution policy" in manifest["reviewers"]["precedence"]


def test_a_reviewer_who_says_the_model_was_right_takes_the_row_out(project):
    prediction = PredictionFactory(project=project, predicted_label="card_arrival")
    correct(prediction, "card_not_working")
    verdict(prediction, "card_arrival")

    export = jsonl_export(project)

    assert rows_of(export) == []
    assert export.manifest["excluded"]["reviewer_says_model_right"] == 1
    assert export.manifest["counts"]["reviewer_labels"] == 1


def test_a_prediction_nobody_reported_is_exported_with_the_reviewers_label(project):
    category = ErrorCategoryFactory(project=project, title="cards")
    unreported = PredictionFactory(project=project, input_text="my card never came")
    verdict(unreported, "card_not_working", category=category)
    PredictionFactory(project=project)  # no feedback, no verdict: not exported
    skipped = PredictionFactory(project=project)
    verdict(skipped, "")  # a skip is not a label

    export = jsonl_export(project)

    [row] = rows_of(export)
    assert row["request_id"] == unreported.request_id
    assert row["input_text"] == "my card never came"
    assert (row["corrected_label"], row["source"]) == ("card_not_working", "reviewer")
    assert (row["n_feedback"], row["n_corrections"], row["agreement"]) == (0, 0, 1.0)
    assert row["category_ids"] == [category.id] and row["feedback_ids"] == []
    assert export.manifest["categories"] == {str(category.id): "cards"}
    assert export.manifest["label_distribution"] == {"card_not_working": 1}


def test_the_latest_verdict_of_several_reviewers_counts(project):
    prediction = PredictionFactory(project=project)
    verdict(prediction, "exchange_rate", reviewer="ann", minutes=-5)
    verdict(prediction, "card_not_working", reviewer="bob", minutes=-2)

    [row] = rows_of(jsonl_export(project))

    assert row["corrected_label"] == "card_not_working"


def test_the_source_filter_keeps_one_side_and_counts_the_other(project):
    overridden = PredictionFactory(project=project)
    correct(overridden, "exchange_rate")
    verdict(overridden, "card_not_working")
    customers_only = PredictionFactory(project=project)
    correct(customers_only, "exchange_rate")
    reviewers_only = PredictionFactory(project=project)
    verdict(reviewers_only, "card_not_working")

    customers = jsonl_export(project, filters={"sources": ["customer"]})
    reviewers = jsonl_export(project, filters={"sources": ["reviewer"]})

    # The reviewer still wins: the overridden prediction is no customer row.
    assert set(by_request(customers)) == {customers_only.request_id}
    assert customers.manifest["excluded"]["source_filter"] == 1
    assert set(by_request(reviewers)) == {overridden.request_id, reviewers_only.request_id}
    assert reviewers.manifest["excluded"]["source_filter"] == 1
    with pytest.raises(ExportInvalid) as invalid:
        export_request(project=project, format="jsonl", filters={"sources": ["robot"]})
    assert "filters.sources" in invalid.value.errors


def test_reviewer_rows_follow_the_filters_on_predictions(project):
    ModelVersionFactory(project=project, version="v2")
    old = PredictionFactory(project=project)
    verdict(old, "card_not_working")
    new = PredictionFactory(
        project=project, model_version=ModelVersionFactory(project=project, version="v2")
    )
    verdict(new, "card_not_working")
    other_label = PredictionFactory(project=project, predicted_label="exchange_rate")
    verdict(other_label, "exchange_via_app")

    v2 = jsonl_export(project, filters={"model_versions": ["v2"]})
    cards = jsonl_export(project, filters={"labels": ["card_not_working"]})

    assert set(by_request(v2)) == {new.request_id}
    assert set(by_request(cards)) == {old.request_id, new.request_id}
    assert cards.manifest["excluded"]["label_filter"] == 1


def test_a_verdict_given_after_the_request_is_not_in_the_snapshot(project):
    prediction = PredictionFactory(project=project)
    correct(prediction, "exchange_rate")
    export = export_request(project=project, format="jsonl")
    verdict(prediction, "card_not_working", minutes=1)  # after the export's as_of

    [row] = rows_of(build(export))

    assert (row["corrected_label"], row["source"]) == ("exchange_rate", "customer")


def test_an_export_requested_before_reviewers_existed_rebuilds_as_it_was(project):
    prediction = PredictionFactory(project=project)
    correct(prediction, "exchange_rate")
    verdict(prediction, "card_not_working")
    export = export_request(project=project, format="jsonl")
    export.filters.pop("sources")  # what an export requested before this version holds
    export.save(update_fields=["filters"])

    export = build(export)

    [row] = rows_of(export)
    assert (row["corrected_label"], row["source"]) == ("exchange_rate", "customer")
    assert export.manifest["reviewers"] is None


def test_an_erased_prediction_never_comes_back_through_its_verdict(project):
    prediction = PredictionFactory(project=project)
    verdict(prediction, "card_not_working")
    prediction.input_text = ""
    prediction.input_data = None
    prediction.save(update_fields=["input_text", "input_data"])

    assert rows_of(jsonl_export(project)) == []


def test_the_source_column_is_in_every_format(project):
    prediction = PredictionFactory(project=project)
    verdict(prediction, "card_not_working")

    csv = build(export_request(project=project, format="csv"))
    parquet = build(export_request(project=project, format="parquet"))

    with open(csv.file.path, "rb") as handle:
        assert pd.read_csv(io.BytesIO(handle.read()))["source"].tolist() == ["reviewer"]
    assert pd.read_parquet(parquet.file.path)["source"].tolist() == ["reviewer"]
