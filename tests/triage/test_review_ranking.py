"""The review queue's ranking (triage/review_queue/ranking.py) on arrays given by hand: a
planted failure pattern ranks first, each part of the score moves it the way it should, what
reviewers handled is left out, and scoring in chunks keeps the same result; the suggested
labels of the nearest corrected errors."""

import numpy as np
import pytest

from triage.review_queue.ranking import (
    Candidates,
    CategoryEvidence,
    label_affinity,
    label_confidence_levels,
    neighbour_labels,
    rank,
    uncertainty,
)


def unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


@pytest.fixture
def planted():
    """400 candidates in 16 dimensions; 40 of them (rows 0-39) near the category's errors,
    predicted as the label its confusions start from, with small margins."""
    rng = np.random.default_rng(0)
    direction = unit(rng.normal(size=(1, 16)))
    errors = unit(direction + 0.2 * rng.normal(size=(12, 16)))
    vectors = unit(rng.normal(size=(400, 16)))
    vectors[:40] = unit(direction + 0.3 * rng.normal(size=(40, 16)))
    predicted = np.array(["card_arrival"] * 40 + ["balance"] * 180 + ["card_arrival"] * 180)
    confidence = np.where(np.arange(400) < 40, 0.45, rng.uniform(0.5, 0.99, size=400))
    margin = np.where(np.arange(400) < 40, 0.05, rng.uniform(0.1, 0.9, size=400))
    candidates = Candidates(vectors, predicted.tolist(), confidence, margin)
    category = CategoryEvidence(7, errors, {"card_arrival": 9, "lost_card": 3})
    return candidates, category


def test_a_planted_failure_pattern_ranks_first(planted):
    candidates, category = planted

    (ranked,) = rank(candidates, [category], top=50)

    assert ranked.category_id == 7 and len(ranked.rows) == 50
    # 40 planted among 400: nearly all of them in the first 40 (a random order: 4).
    assert len(set(ranked.rows[:40].tolist()) & set(range(40))) >= 36
    assert np.all(np.diff(ranked.scores) <= 0)  # best first
    # Why it was chosen: its input is like the errors, the model was unsure, the label fits.
    assert ranked.similarity[0] > 0.5 and ranked.uncertainty[0] > 0.5 and ranked.label[0] == 1


def test_what_reviewers_handled_is_never_queued(planted):
    candidates, category = planted
    eligible = np.ones(400, dtype=bool)
    eligible[:20] = False

    (ranked,) = rank(candidates, [category], top=50, eligible=eligible)

    assert not set(ranked.rows.tolist()) & set(range(20))
    assert len(set(ranked.rows[:20].tolist()) & set(range(20, 40))) >= 17


def test_scoring_in_chunks_gives_the_same_queue(planted):
    candidates, category = planted

    (whole,) = rank(candidates, [category], top=60)
    (chunked,) = rank(candidates, [category], top=60, chunk=7)

    assert whole.rows.tolist() == chunked.rows.tolist()
    assert np.allclose(whole.scores, chunked.scores)


def test_each_category_gets_its_own_queue(planted):
    candidates, category = planted
    elsewhere = CategoryEvidence(8, unit(-category.vectors), {"balance": 5})

    first, second = rank(candidates, [category, elsewhere], top=30)

    assert (first.category_id, second.category_id) == (7, 8)
    assert not set(first.rows[:20].tolist()) & set(second.rows[:20].tolist())
    assert all(candidates.predicted[row] == "balance" for row in second.rows[:20])


def test_uncertainty_reads_the_margin_and_the_labels_usual_confidence():
    levels = label_confidence_levels(["a", "a", "a", "b", "b"], np.array([0.9, 0.8, 0.7, 0.3, 0.5]))
    assert levels == {"a": pytest.approx(0.8), "b": pytest.approx(0.4)}

    candidates = Candidates(
        np.zeros((4, 2)), ["a", "a", "b", "c"], np.array([0.8, 0.4, 0.4, 0.5]),
        np.array([0.6, 0.0, np.nan, 0.2]),
    )  # fmt: skip
    found = uncertainty(candidates, levels)

    # a at its usual 0.8 with margin 0.6: (0.4 + 0) / 2; a at 0.4, margin 0: (1 + 0.5) / 2;
    # b at its usual level, margin unknown: (0.5 + 0) / 2; c never seen: (0.8 + 0.5) / 2.
    assert found.tolist() == pytest.approx([0.2, 0.75, 0.25, 0.65])


def test_label_affinity_is_relative_to_the_commonest_start():
    found = label_affinity(["a", "b", "c"], {"a": 10, "b": 5})
    assert found.tolist() == [1.0, 0.5, 0.0]
    assert label_affinity(["a"], {}).tolist() == [0.0]


def test_neighbour_labels_are_the_nearest_corrections_by_summed_similarity():
    pool = unit(np.array([[1.0, 0.0], [0.9, 0.1], [0.8, 0.2], [0.0, 1.0], [-1.0, 0.0]]))
    pool_labels = ["lost_card", "card_arrival", "lost_card", "balance", "refund"]
    vectors = unit(np.array([[1.0, 0.05], [1.0, 0.05], [0.0, 1.0]]))

    found = neighbour_labels(
        vectors, pool, pool_labels, ["balance", "lost_card", "balance"], k=3, top=5
    )

    # Two near lost_card votes outweigh one card_arrival; the one far the other way
    # (refund, negative similarity) never counts.
    assert found[0] == ["lost_card", "card_arrival"]
    # The predicted label is no correction: left out, the others move up.
    assert found[1] == ["card_arrival"]
    # Its nearest is balance, what the model said: what remains are the farther ones.
    assert found[2] == ["lost_card", "card_arrival"]
    assert neighbour_labels(vectors[2:], pool, pool_labels, ["balance"], k=1) == [[]]


def test_neighbour_labels_skip_unknown_labels_keep_top_and_work_in_chunks():
    rng = np.random.default_rng(1)
    pool = unit(rng.normal(size=(60, 8)))
    pool_labels = [["a", "b", "c", "d", ""][i % 5] for i in range(60)]
    vectors = unit(rng.normal(size=(25, 8)))
    predicted = ["a"] * 25

    whole = neighbour_labels(vectors, pool, pool_labels, predicted, k=20, top=2)
    chunked = neighbour_labels(vectors, pool, pool_labels, predicted, k=20, top=2, chunk=4)

    assert whole == chunked
    assert all(len(labels) <= 2 and not {"a", ""} & set(labels) for labels in whole)
    assert neighbour_labels(vectors, pool[:0], [], predicted) == [[]] * 25
    assert neighbour_labels(vectors[:0], pool, pool_labels, []) == []
