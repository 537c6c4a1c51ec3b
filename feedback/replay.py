"""The Banking77 replay: a realistic production history built from real customer queries.

A deliberately weak intent model (TF-IDF + logistic regression on a small stratified part of
the training queries) is "served" on the test queries over several weeks and two model
versions; customers react as real ones do: they correct some wrong answers with the right
intent, complain in varied wording (linked to the prediction or not), rate answers, and a
few carelessly "correct" right answers. A one-day incident in the second week makes the model
collapse onto one label, so dashboards and alerts have something to find.

Pure: returns plain data (API items) plus the truth that only benchmarks may read. The app
itself only ever sees what `load_demo` ingests through the same services as the API.
"""

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline

# The project's own copy of Banking77 (CC-BY-4.0, attribution and licence beside the data).
BUNDLED_DATA_DIR = Path(__file__).resolve().parent / "demo_data" / "banking77"
DEFAULT_DATA_DIR = Path(os.environ.get("VOC_BANKING77_DIR") or BUNDLED_DATA_DIR)
# Korean queries for 48 of its intents, written for this project (README beside them), with
# Korean complaint wording and label names.
KOREAN_DATA_DIR = Path(
    os.environ.get("VOC_BANKING77_KO_DIR")
    or Path(__file__).resolve().parent / "demo_data" / "banking77_ko"
)
LANGUAGES = ("en", "ko")

# Share of the training queries each version was trained on (v1 is deliberately weak).
VERSION_TRAIN_SHARE = {"v1": 0.10, "v2": 0.25}
# The Korean set is 14 times smaller: the same weak-then-better models need bigger shares.
KOREAN_TRAIN_SHARE = {"v1": 0.30, "v2": 0.60}
# How customers react. Wrong answers: most users just leave; some correct, some complain.
P_CORRECT_WRONG = 0.45
P_COMPLAIN_WRONG = 0.5
P_COMPLAINT_LINKED = 0.7
P_RATE_DOWN_WRONG = 0.3
P_RATE_UP_RIGHT = 0.15
P_RATE_DOWN_RIGHT = 0.01
P_CARELESS_CORRECTION = 0.02
P_NOISE_COMPLAINT = 0.01
P_PARAPHRASE = 0.4  # the complaint re-words the question (another query of the same intent)
INCIDENT_LABEL = "card_not_working"
INCIDENT_SHARE = 0.4

COMPLAINT_TEMPLATES = [
    "{q}",
    'I asked "{q}" and got a useless answer.',
    "Why doesn't this work? {q}",
    "{q} Wrong answer again.",
    "Your assistant keeps misunderstanding me. {q}",
    "Not what I asked. {q} Please help.",
    "{q} This is the third time I'm asking!",
    "Wrong answer. I wanted to know: {q}",
    "{q} The reply had nothing to do with my question.",
    "Seriously, {q}",
]
NOISE_COMPLAINTS = [
    "This is useless.",
    "Why doesn't this work?",
    "Wrong answer again.",
    "The app is so slow today.",
    "I just want to talk to a human.",
]
CHANNELS = ["app", "web", "chat"]
# The demo's failing segment: v1 answers queries typed at the branch kiosk badly (short,
# misspelt input), so its wrong answers come from the kiosk far more often than its right
# ones; v2 fixed it. Drawn from a stream of their own (the rest of the replay is unchanged).
KIOSK = "kiosk"
P_KIOSK = {"v1": {"wrong": 0.35, "right": 0.08}, "v2": {"wrong": 0.1, "right": 0.08}}
# Latency (ms) is log-normal per version: v2 is a bigger model, about a third slower (median
# 37 ms vs 49 ms; p95 65 ms vs 80 ms).
LATENCY_LOG_NORMAL = {"v1": (3.6, 0.35), "v2": (3.9, 0.3)}
LOCALES = {"en": (["en-US", "en-GB", "en-IN"], [0.6, 0.25, 0.15]), "ko": (["ko-KR"], [1.0])}


def _metadata(segment_rng, *, channel: str, kiosk: float, locale: str) -> dict:
    return {"channel": KIOSK if segment_rng.random() < kiosk else channel, "locale": locale}


@dataclass
class Replay:
    labels: list[str]
    label_names: dict[str, str]
    versions: list[dict]
    predictions: list[dict]
    feedback: list[dict]
    # Known only to benchmarks and tests, never ingested:
    true_label: dict[str, str] = field(default_factory=dict)  # request_id -> intent
    feedback_intent: dict[str, str] = field(default_factory=dict)  # external_id -> intent
    careless: set[str] = field(default_factory=set)  # external_ids of careless corrections
    models: dict = field(default_factory=dict)  # version -> fitted Pipeline
    label_translations: dict = field(default_factory=dict)  # language -> label -> name


@dataclass(frozen=True)
class Voice:
    """How the replay's customers write: complaint wording, label names, ids' prefix."""

    language: str
    templates: list[str]
    noise: list[str]
    label_names: dict[str, str]
    prefix: str
    notes: str = "TF-IDF + logistic regression on {share:.0%} of the training queries."


def korean_label_names() -> dict[str, str]:
    return json.loads((KOREAN_DATA_DIR / "label_names_ko.json").read_text("utf-8"))


def voice(language: str) -> Voice:
    if language == "ko":
        complaints = json.loads((KOREAN_DATA_DIR / "complaints_ko.json").read_text("utf-8"))
        return Voice(
            "ko",
            complaints["templates"],
            complaints["noise"],
            korean_label_names(),
            "b77ko",
            notes="학습 질문의 {share:.0%}로 학습한 TF-IDF + 로지스틱 회귀 모델.",
        )
    if language != "en":
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}")
    return Voice("en", COMPLAINT_TEMPLATES, NOISE_COMPLAINTS, {}, "b77")


class _FeedbackWriter:
    """Numbers feedback items and records the truth about them beside the replay."""

    def __init__(self, replay: Replay, end: datetime, prefix: str = "b77"):
        self.replay, self.end, self.count, self.prefix = replay, end, 0, prefix

    def add(self, kind, minutes, *, served_at, customer, intent, careless=False, **fields):
        self.count += 1
        external_id = f"{self.prefix}-fb-{self.count:06d}"
        when = min(served_at + timedelta(minutes=float(minutes)), self.end - timedelta(seconds=1))
        self.replay.feedback.append(
            {
                "kind": kind,
                "external_id": external_id,
                "customer_ref": customer,
                "created_at": when.isoformat(),
                **fields,
            }
        )
        self.replay.feedback_intent[external_id] = intent
        if careless:
            self.replay.careless.add(external_id)


def load_banking77(data_dir: Path | None = None) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    data_dir = Path(data_dir or DEFAULT_DATA_DIR)
    train = pd.read_csv(data_dir / "train.csv")
    test = pd.read_csv(data_dir / "test.csv")
    labels = json.loads((data_dir / "categories.json").read_text())
    return train, test, labels


def baseline_model(seed: int = 0) -> Pipeline:
    """The replay's baseline intent model; benchmarks retrain the same pipeline."""
    return Pipeline(
        [
            ("tfidf", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)),
            ("clf", LogisticRegression(C=10, max_iter=1000, random_state=seed)),
        ]
    )


def _label_name(label: str) -> str:
    return label.replace("_", " ").capitalize()


def build_replay(
    data_dir: Path | None = None,
    *,
    seed: int = 0,
    end: datetime | None = None,
    weeks: int = 6,
    repeat: int = 1,
    language: str = "en",
) -> Replay:
    """Build the replay deterministically from `seed`. `end` anchors the served times (default:
    today 00:00 UTC); `repeat` serves the test queries that many times for bigger volumes;
    `language` "ko" replays the Korean queries with Korean complaints and label names."""
    rng = np.random.default_rng(seed)
    speaker = voice(language)
    if data_dir is None and language == "ko":
        data_dir = KOREAN_DATA_DIR
    train, test, labels = load_banking77(data_dir)
    end = end or datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = end - timedelta(weeks=weeks)
    switch = start + (end - start) / 2  # v2 takes over half-way

    # Train both versions on nested stratified samples; the rest is their offline test set.
    models, versions = {}, []
    shares = KOREAN_TRAIN_SHARE if language == "ko" else VERSION_TRAIN_SHARE
    for name, share in shares.items():
        part, rest = train_test_split(
            train, train_size=share, stratify=train.category, random_state=seed
        )
        model = baseline_model(seed).fit(part.text, part.category)
        offline = rest.sample(n=min(2000, len(rest)), random_state=seed)
        predicted = model.predict(offline.text)
        versions.append(
            {
                "version": name,
                "released_at": start if name == "v1" else switch,
                "offline_metrics": {
                    "accuracy": round(float(accuracy_score(offline.category, predicted)), 4),
                    "macro_f1": round(
                        float(f1_score(offline.category, predicted, average="macro")), 4
                    ),
                    "n": len(offline),
                    "train_rows": len(part),
                },
                "notes": speaker.notes.format(share=share),
            }
        )
        models[name] = model

    replay = Replay(
        labels=labels,
        label_names={
            label: speaker.label_names.get(label) or _label_name(label) for label in labels
        },
        versions=versions,
        predictions=[],
        feedback=[],
        models=models,
        # The names in the other language: Korean customers of the English demo read Korean.
        label_translations=(
            {"en": {label: _label_name(label) for label in labels}}
            if language == "ko"
            else {"ko": {k: v for k, v in korean_label_names().items() if k in labels}}
        ),
    )
    paraphrases = {label: group.text.tolist() for label, group in train.groupby("category")}
    span = (end - start).total_seconds()
    incident_start = start + timedelta(days=9)
    incident_end = incident_start + timedelta(days=1)
    n_customers = max(50, len(test) * repeat // 2)

    texts = np.tile(test.text.to_numpy(), repeat)
    truths = np.tile(test.category.to_numpy(), repeat)
    order = rng.permutation(len(texts))
    offsets = np.sort(rng.uniform(0, span, size=len(texts)))
    served = [start + timedelta(seconds=float(s)) for s in offsets]
    version_of = ["v1" if t < switch else "v2" for t in served]

    # Predict per version in bulk (scikit-learn is fast on arrays, slow per row).
    probabilities = np.zeros((len(texts), len(models["v1"].classes_)))
    for name, model in models.items():
        rows = [i for i in range(len(texts)) if version_of[i] == name]
        probabilities[rows] = model.predict_proba(texts[order[rows]])
    classes = models["v1"].classes_

    writer = _FeedbackWriter(replay, end, speaker.prefix)
    segment_rng = np.random.default_rng(seed + 1)
    locales, locale_p = LOCALES[language]
    for i in range(len(texts)):
        text, truth = str(texts[order[i]]), str(truths[order[i]])
        request_id = f"{speaker.prefix}-{i:06d}"
        probs = probabilities[i]
        top = np.argsort(probs)[::-1][:5]
        predicted = str(classes[top[0]])
        in_incident = incident_start <= served[i] < incident_end
        if in_incident and rng.random() < INCIDENT_SHARE:
            predicted = INCIDENT_LABEL
        scores = {str(classes[j]): round(float(probs[j]), 4) for j in top}
        customer = f"cust-{int(rng.integers(n_customers)):05d}"
        replay.true_label[request_id] = truth
        replay.predictions.append(
            {
                "request_id": request_id,
                "model_version": version_of[i],
                "input_text": text,
                "predicted_label": predicted,
                "scores": scores,
                "confidence": scores.get(predicted, 0.0),
                "latency_ms": round(float(rng.lognormal(*LATENCY_LOG_NORMAL[version_of[i]])), 1),
                "served_at": served[i].isoformat(),
                "metadata": _metadata(
                    segment_rng,
                    channel=CHANNELS[int(rng.integers(3))],
                    kiosk=P_KIOSK[version_of[i]]["wrong" if predicted != truth else "right"],
                    locale=str(segment_rng.choice(locales, p=locale_p)),
                ),
                "customer_ref": customer,
            }
        )

        add = partial(writer.add, served_at=served[i], customer=customer, intent=truth)
        delay = rng.exponential(90)
        if predicted != truth:
            if rng.random() < P_CORRECT_WRONG:
                add(
                    "correction",
                    delay,
                    request_id=request_id,
                    corrected_label=truth,
                    source="widget",
                )
            if rng.random() < P_COMPLAIN_WRONG:
                wording = text
                if rng.random() < P_PARAPHRASE:
                    options = paraphrases[truth]
                    wording = options[int(rng.integers(len(options)))]
                template = speaker.templates[int(rng.integers(len(speaker.templates)))]
                linked = rng.random() < P_COMPLAINT_LINKED
                add(
                    "complaint",
                    delay + 2,
                    text=template.format(q=wording.strip()),
                    # Unlinked complaints arrive from the support desk's ticket export.
                    source="widget" if linked else "import",
                    **({"request_id": request_id} if linked else {}),
                )
            if rng.random() < P_RATE_DOWN_WRONG:
                add("rating", delay + 1, request_id=request_id, rating=-1, source="widget")
        else:
            if rng.random() < P_RATE_UP_RIGHT:
                add("rating", delay, request_id=request_id, rating=1, source="widget")
            elif rng.random() < P_RATE_DOWN_RIGHT:
                add("rating", delay, request_id=request_id, rating=-1, source="widget")
            if rng.random() < P_CARELESS_CORRECTION:
                # A careless user picks a plausible neighbour: the model's second guess.
                wrong = str(classes[top[1]])
                add(
                    "correction",
                    delay,
                    careless=True,
                    request_id=request_id,
                    corrected_label=wrong,
                    source="widget",
                )
            if rng.random() < P_NOISE_COMPLAINT:
                noise = speaker.noise[int(rng.integers(len(speaker.noise)))]
                add("complaint", delay, text=noise, request_id=request_id, source="widget")
    return replay
