from datetime import UTC, datetime

import pytest

from feedback.replay import build_replay, load_banking77

END = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def replay():
    return build_replay(seed=0, end=END)


def test_the_replay_is_deterministic(replay):
    again = build_replay(seed=0, end=END)

    assert again.predictions == replay.predictions
    assert again.feedback == replay.feedback


def test_a_different_seed_gives_different_feedback(replay):
    assert build_replay(seed=1, end=END).feedback != replay.feedback


def test_the_second_version_is_better_offline_and_online(replay):
    offline = {v["version"]: v["offline_metrics"]["accuracy"] for v in replay.versions}
    online = {}
    for version in ("v1", "v2"):
        served = [p for p in replay.predictions if p["model_version"] == version]
        right = sum(p["predicted_label"] == replay.true_label[p["request_id"]] for p in served)
        online[version] = right / len(served)

    assert 0.6 < offline["v1"] < offline["v2"] < 0.95
    assert online["v1"] < online["v2"]


def test_feedback_looks_like_real_customers(replay):
    kinds = {}
    for fb in replay.feedback:
        kinds[fb["kind"]] = kinds.get(fb["kind"], 0) + 1
    unlinked = [
        fb for fb in replay.feedback if fb["kind"] == "complaint" and "request_id" not in fb
    ]
    wrong = {p["request_id"] for p in replay.predictions
             if p["predicted_label"] != replay.true_label[p["request_id"]]}  # fmt: skip
    corrections = [fb for fb in replay.feedback if fb["kind"] == "correction"]

    assert set(kinds) == {"complaint", "correction", "rating"}
    assert unlinked, "some complaints arrive without a link"
    assert 0 < len(replay.careless) < 0.2 * len(corrections)
    honest = [fb for fb in corrections if fb["external_id"] not in replay.careless]
    assert all(fb["request_id"] in wrong for fb in honest)
    assert all(fb["corrected_label"] == replay.true_label[fb["request_id"]] for fb in honest)


def test_no_item_carries_the_truth(replay):
    allowed_prediction = {
        "request_id",
        "model_version",
        "input_text",
        "predicted_label",
        "scores",
        "confidence",
        "latency_ms",
        "served_at",
        "metadata",
        "customer_ref",
    }
    allowed_feedback = {"kind", "external_id", "customer_ref", "created_at", "request_id", "text",
                        "corrected_label", "rating", "source"}  # fmt: skip

    assert all(set(p) <= allowed_prediction for p in replay.predictions)
    assert all(set(f) <= allowed_feedback for f in replay.feedback)


def test_feedback_is_not_older_than_its_prediction(replay):
    served = {p["request_id"]: p["served_at"] for p in replay.predictions}

    for fb in replay.feedback:
        if "request_id" in fb:
            assert fb["created_at"] >= served[fb["request_id"]]


def test_the_korean_replay_speaks_korean_about_its_own_intents():
    from triage.clustering.hangul import has_hangul

    korean = build_replay(seed=0, end=END, language="ko")

    assert len(korean.labels) == 48 and set(korean.labels) < set(load_banking77()[2])
    assert korean.label_names["card_arrival"] == "카드 배송"
    assert korean.label_translations["en"]["card_arrival"] == "Card arrival"
    complaints = [f["text"] for f in korean.feedback if f["kind"] == "complaint"]
    assert len(complaints) > 50 and all(has_hangul(text) for text in complaints)
    assert all(p["request_id"].startswith("b77ko-") for p in korean.predictions)
    assert {p["metadata"]["locale"] for p in korean.predictions} == {"ko-KR"}


def test_the_english_replay_carries_korean_names_for_korean_customers(replay):
    assert set(replay.label_translations["ko"]) == set(replay.labels)
    assert replay.label_translations["ko"]["card_arrival"] == "카드 배송"


def test_v1_serves_the_kiosk_worse_and_v2_fixed_it(replay):
    """The demo's failing segment: v1's kiosk traffic is corrected far more often than its
    other channels; under v2 the kiosk is like the rest."""
    corrected = {f["request_id"] for f in replay.feedback if f["kind"] == "correction"}

    def rate(version: str, kiosk: bool) -> float:
        rows = [
            p["request_id"] in corrected
            for p in replay.predictions
            if p["model_version"] == version and (p["metadata"]["channel"] == "kiosk") == kiosk
        ]
        return sum(rows) / len(rows)

    assert rate("v1", kiosk=True) > 2 * rate("v1", kiosk=False)
    assert rate("v2", kiosk=True) < 1.3 * rate("v2", kiosk=False)
    assert {p["metadata"]["locale"] for p in replay.predictions} == {"en-US", "en-GB", "en-IN"}
