"""The likely-wrong-corrections check: the pure functions on hand-made data, and exports that
mark or exclude what it flags."""

import json

import numpy as np
import pytest

from feedback.models import Feedback
from tests.factories import FeedbackFactory, PredictionFactory, ProjectFactory
from triage.exports import checks
from triage.exports.checks import (
    check_corrections,
    class_thresholds,
    make_pool,
    neighbour_support,
)
from triage.services import export_checks
from triage.services import export_rows as rows_module
from triage.services.export_build import export_build
from triage.services.exports import ExportInvalid, export_request

# --- pure functions ---------------------------------------------------------------------------


def test_thresholds_are_each_class_mean_confidence_ignoring_missing_ones():
    thresholds = class_thresholds(["a", "a", "b", "b", "b"], [0.9, 0.7, 0.2, np.nan, 0.4])

    assert thresholds == pytest.approx({"a": 0.8, "b": 0.3})


def run_check(**overrides):
    """One correction: the model answered `a` with p=0.9, the customer said `b` (p=0.05)."""
    values = dict(
        predicted=["a"],
        corrected=["b"],
        p_predicted=[0.9],
        p_corrected=[0.05],
        thresholds={"a": 0.8, "b": 0.5},
        support_corrected=[0.0],
        support_predicted=[1.5],
    )
    values.update(overrides)
    return check_corrections(**values)


def test_a_correction_the_model_confidently_contradicts_and_neighbours_do_not_back_is_flagged():
    assert run_check().flagged.tolist() == [True]


@pytest.mark.parametrize(
    ("overrides", "why"),
    [
        ({"p_predicted": [0.6]}, "the model was less sure than it usually is of `a`"),
        ({"p_corrected": [0.55]}, "the corrected label scored above its class threshold"),
        ({"support_corrected": [2.0]}, "similar inputs were corrected to `b` too"),
        ({"thresholds": {"b": 0.5}}, "the model never predicts `a`: no threshold to trust"),
        ({"thresholds": {"a": 0.8}}, "`b` is never predicted: no evidence against it"),
    ],
)
def test_a_correction_is_kept_when_any_evidence_backs_it(overrides, why):
    assert run_check(**overrides).flagged.tolist() == [False], why


def test_missing_scores_count_as_zero():
    result = run_check(p_predicted=[np.nan], p_corrected=[np.nan])

    assert result.flagged.tolist() == [False]
    assert result.model_against.tolist() == [False]


def own_pool(vectors, corrected):
    """Corrections as their own neighbour pool (ids 1..n)."""
    ids = np.arange(1, len(corrected) + 1)
    return ids, make_pool(vectors, corrected, np.ones(len(corrected)), ids)


def test_neighbours_vote_with_their_similarity_and_a_correction_is_not_its_own_neighbour():
    # Three inputs near (1, 0) corrected to "a"; one of them "corrected" to "b" by a careless
    # user (the model said "a"). Two inputs near (0, 1) corrected to "b".
    vectors = np.array([[1, 0], [1, 0.1], [1, -0.1], [1, 0.05], [0, 1], [0.1, 1]], dtype=float)
    corrected = ["a", "a", "a", "b", "b", "b"]
    predicted = ["c", "c", "c", "a", "c", "c"]
    ids, pool = own_pool(vectors, corrected)

    support_c, support_p = neighbour_support(vectors, ids, corrected, predicted, pool=pool, k=3)

    assert support_p[3] > 2.9, "its three nearest neighbours were corrected to `a`"
    assert support_c[3] == 0.0, "the careless correction does not back itself"
    assert support_c[4] > 0.9 and support_c[0] > 1.9


def test_uncorrected_answers_vote_with_their_weight():
    vectors = np.array([[1.0, 0.0], [0.0, 1.0]])
    others = np.array([[1.0, 0.01], [1.0, -0.01]])
    pool = make_pool(np.vstack([vectors, others]), ["b", "x", "a", "a"], [1, 1, 0.5, 0.5],
                     [1, 2, -1, -1])  # fmt: skip

    support_c, support_p = neighbour_support(
        vectors, [1, 2], ["b", "x"], ["a", "y"], pool=pool, k=2
    )

    assert support_p[0] == pytest.approx(1.0, abs=0.01), "two answers of `a`, half a vote each"
    assert support_c[0] == 0.0


def test_chunked_similarity_gives_the_same_support(monkeypatch):
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(40, 5))
    corrected = rng.choice(["a", "b", "c"], size=40)
    predicted = rng.choice(["a", "b", "c"], size=40)
    ids, pool = own_pool(vectors, corrected)
    whole = neighbour_support(vectors, ids, corrected, predicted, pool=pool, k=4)

    monkeypatch.setattr(checks, "SIMILARITY_CELLS", 7 * 40)  # 7 rows at a time
    chunked = neighbour_support(vectors, ids, corrected, predicted, pool=pool, k=4)

    assert np.allclose(whole[0], chunked[0]) and np.allclose(whole[1], chunked[1])


def test_the_pool_shrinks_as_exports_grow_so_the_work_stays_bounded():
    assert checks.pool_size(1_000) == checks.MAX_POOL, "small exports: everything"
    sizes = [checks.pool_size(n) for n in (200_000, 400_000, 1_000_000, 100_000_000)]
    assert sizes == sorted(sizes, reverse=True) and sizes[0] < checks.MAX_POOL
    assert 200_000 * sizes[0] <= checks.WORK_BUDGET and 400_000 * sizes[1] <= checks.WORK_BUDGET
    assert sizes[-1] == checks.MIN_POOL, "never below the floor"


# --- exports that use it ------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def project(db):
    """The model answers "where is my card" queries with card_arrival, confidently and
    rightly. One careless customer corrects such an answer to card_not_working; four
    customers rightly correct "my card does not work" queries the model got wrong."""
    project = ProjectFactory()
    sure = {"card_arrival": 0.9, "card_not_working": 0.05}
    for n in range(12):
        PredictionFactory(project=project, input_text=f"where is my card {n}", confidence=0.9,
                          scores=sure)  # fmt: skip
    for n in range(3):
        PredictionFactory(project=project, input_text=f"card broken {n}", confidence=0.8,
                          predicted_label="card_not_working",
                          scores={"card_not_working": 0.8})  # fmt: skip
    careless = PredictionFactory(
        project=project, input_text="where is my card now", confidence=0.9, scores=sure
    )
    FeedbackFactory(prediction=careless, corrected_label="card_not_working")
    unsure = {"card_arrival": 0.35, "card_not_working": 0.3}
    for n in range(4):
        prediction = PredictionFactory(project=project, input_text=f"my card does not work {n}",
                                       confidence=0.35, scores=unsure)  # fmt: skip
        FeedbackFactory(prediction=prediction, corrected_label="card_not_working")
    return project, careless


def built(project, flagged):
    export = export_request(project=project, format="jsonl", flagged=flagged)
    export_build(export_id=export.id)
    export.refresh_from_db()
    with open(export.file.path, "rb") as handle:
        return export, {row["request_id"]: row for row in map(json.loads, handle)}


def test_a_marked_export_flags_the_careless_correction_only(project):
    project, careless = project

    export, rows = built(project, "mark")

    assert len(rows) == 5
    assert {r for r, row in rows.items() if row["flagged"]} == {careless.request_id}
    assert export.manifest["flagged"]["count"] == 1 and export.manifest["flagged"]["checked"] == 5
    assert export.manifest["excluded"]["flagged"] == 0


def test_an_export_can_leave_flagged_corrections_out_and_count_them(project):
    project, careless = project

    export, rows = built(project, "exclude")

    assert len(rows) == 4 and careless.request_id not in rows
    assert export.row_count == 4
    assert export.manifest["excluded"]["flagged"] == 1
    assert export.manifest["flagged"]["handling"] == "exclude"


def test_without_the_check_no_row_is_flagged(project):
    project, _ = project

    export, rows = built(project, "ignore")

    assert len(rows) == 5 and {row["flagged"] for row in rows.values()} == {False}
    assert export.manifest["flagged"]["count"] is None


def test_an_unknown_handling_is_refused_by_name(project):
    with pytest.raises(ExportInvalid) as caught:
        export_request(project=project[0], format="csv", flagged="drop")

    assert list(caught.value.errors) == ["flagged"]


def test_verdicts_do_not_depend_on_how_rows_are_batched(project, monkeypatch):
    project, careless = project
    monkeypatch.setattr(rows_module, "CHECK_BATCH", 2)

    export, rows = built(project, "mark")

    assert {r for r, row in rows.items() if row["flagged"]} == {careless.request_id}
    assert export.manifest["flagged"]["checked"] == 5


def test_a_large_export_searches_a_seeded_sample_of_its_corrections_and_answers(
    project, monkeypatch
):
    project, _ = project
    for name in ("MAX_POOL", "MIN_POOL"):
        monkeypatch.setattr(checks, name, 4)
    export = export_request(project=project, format="jsonl", flagged="mark")
    corrected = set(
        Feedback.objects.filter(project=project, kind="correction").values_list(
            "prediction_id", flat=True
        )
    )

    pools = [export_checks.prepare(export=export).pool for _ in range(2)]

    assert len(pools[0].ids) == 4
    assert {int(i) for i in pools[0].ids if i != -1} <= corrected
    assert -1 in pools[0].ids, "uncorrected answers keep their share"
    assert pools[0].ids.tolist() == pools[1].ids.tolist(), "the same export, the same sample"
    first, _ = built(project, "mark")
    assert first.status == first.Status.SUCCEEDED and first.manifest["flagged"]["checked"] == 5
