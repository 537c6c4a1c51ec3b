"""What a reviewer reads about a cluster: keywords, confusions, labels, examples, a title."""

from collections import Counter
from collections.abc import Callable, Mapping, Sequence

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

from .text import TOKEN

N_KEYWORDS = 8
N_CONFUSIONS = 5
N_REPRESENTATIVES = 5
# A label "dominates" a cluster when at least this share of its labelled items carry it.
DOMINANT_SHARE = 0.5


def _analyzer(text: str) -> list[str]:
    """Words and word pairs; a pair may not start or end with a stop word ("card to")."""
    words = []
    for word in TOKEN.findall(text.lower()):
        if word.endswith("'s"):
            word = word[:-2]  # "card's" -> "card"
        elif "'" in word:
            continue  # contractions ("hasn't", "i've") carry no topic
        if len(word) > 1 and not word.isdigit():
            words.append(word)
    terms = [w for w in words if w not in ENGLISH_STOP_WORDS]
    terms += [
        f"{a} {b}"
        for a, b in zip(words, words[1:], strict=False)
        if a not in ENGLISH_STOP_WORDS and b not in ENGLISH_STOP_WORDS and a != b
    ]
    return terms


def keywords(texts_per_cluster: Sequence[Sequence[str]], top: int = N_KEYWORDS) -> list[list[str]]:
    """Distinguishing terms per cluster by class-based TF-IDF (as BERTopic does): how many of
    the cluster's items use a term, weighted by how rare the term is across all clusters.
    A term must occur in two items of a cluster (or its only item) to describe it."""
    rows = [(c, text) for c, texts in enumerate(texts_per_cluster) for text in texts]
    if not rows:
        return [[] for _ in texts_per_cluster]
    # Each distinct text is analysed once (repeats are common: the same question asked by
    # many customers); the membership matrix counts how many of a cluster's items carry it.
    distinct: dict[str, int] = {}
    text_index = [distinct.setdefault(text, len(distinct)) for _, text in rows]
    vectorizer = CountVectorizer(analyzer=_analyzer, binary=True)
    try:
        presence = vectorizer.fit_transform(list(distinct))
    except ValueError:  # nothing but stop words
        return [[] for _ in texts_per_cluster]
    membership = sparse.csr_matrix(
        (np.ones(len(rows)), ([c for c, _ in rows], text_index)),
        shape=(len(texts_per_cluster), len(distinct)),
    )
    counts = np.asarray((membership @ presence).todense(), dtype=np.float64)
    words_per_class = counts.sum(axis=1, keepdims=True)
    tf = np.divide(counts, words_per_class, out=np.zeros_like(counts), where=words_per_class > 0)
    average_words = counts.sum() / len(texts_per_cluster)
    idf = np.log(1 + average_words / np.maximum(counts.sum(axis=0), 1))
    scores = tf * idf
    terms = vectorizer.get_feature_names_out()
    result = []
    for c, row in enumerate(scores):
        minimum = 2 if len(texts_per_cluster[c]) > 1 else 1
        chosen: list[str] = []
        for index in np.argsort(-row, kind="stable"):
            if row[index] <= 0 or len(chosen) == top:
                break
            term = terms[index]
            if counts[c, index] < minimum:
                continue
            # Skip a word already inside a chosen phrase, and a phrase made of chosen words.
            if any(term in kept.split() or kept in term.split() for kept in chosen):
                continue
            chosen.append(term)
        result.append(chosen)
    return result


def top_confusions(pairs: Sequence[tuple[str, str]], top: int = N_CONFUSIONS) -> list[dict]:
    """Most frequent (predicted -> corrected) pairs among items that have both."""
    counts = Counter((p, c) for p, c in pairs if p and c and p != c)
    return [
        {"predicted": predicted, "corrected": corrected, "count": count}
        for (predicted, corrected), count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[
            :top
        ]
    ]


def labels_involved(predicted: Sequence[str], corrected: Sequence[str]) -> dict:
    return {
        "predicted": dict(Counter(label for label in predicted if label).most_common()),
        "corrected": dict(Counter(label for label in corrected if label).most_common()),
    }


def representatives(
    item_ids: Sequence[int], similarity: np.ndarray, texts: Sequence[str], top=N_REPRESENTATIVES
) -> list[int]:
    """The items closest to the centre, skipping repeats of the same text."""
    chosen, seen = [], set()
    for position in np.argsort(-similarity, kind="stable"):
        if texts[position] in seen:
            continue
        seen.add(texts[position])
        chosen.append(int(item_ids[position]))
        if len(chosen) == top:
            break
    return chosen


def _dominant(counts: Mapping[str, int]) -> str | None:
    total = sum(counts.values())
    if not total:
        return None
    label, count = max(counts.items(), key=lambda kv: (kv[1], kv[0]))
    return label if count >= 2 and count >= DOMINANT_SHARE * total else None


def auto_title(*, labels: dict, keywords: Sequence[str], display: Callable[[str], str]) -> str:
    """A title a reviewer can keep or replace: the right answer customers wanted and what the
    model said instead when the labels say it, otherwise the cluster's keywords."""
    wanted = _dominant(labels["corrected"])
    answered = _dominant(labels["predicted"])
    if wanted and answered and wanted != answered:
        return f"{display(wanted)} answered as {display(answered)}"
    if wanted:
        return f"{display(wanted)}: wrong answers"
    words = ", ".join(keywords[:3])
    if answered:
        return (
            f"Answered {display(answered)}: {words}" if words else f"Answered {display(answered)}"
        )
    return words.capitalize() if words else "Unnamed category"
