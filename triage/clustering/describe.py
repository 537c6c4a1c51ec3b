"""What a reviewer reads about a cluster: keywords, confusions, labels, examples, a title."""

from collections import Counter
from collections.abc import Callable, Mapping, Sequence

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

from .hangul import HANGUL_WORD, KOREAN_FILLER, stem
from .text import TOKEN

N_KEYWORDS = 8
N_CONFUSIONS = 5
N_REPRESENTATIVES = 5
# A label "dominates" a cluster when at least this share of its labelled items carry it.
DOMINANT_SHARE = 0.5
# Words of the way customers write to support, never of what went wrong: not keywords.
FILLER_WORDS = frozenset(
    "able does did doing don going got having hello help hi just know like need needs "
    "ok okay please really regards tell thank thanks tried trying use using want wanted "
    "wants way".split()
)
IGNORED = ENGLISH_STOP_WORDS | FILLER_WORDS | KOREAN_FILLER
# Two terms sharing this many first letters say the same thing ("verify", "verification").
SAME_STEM = 5


def _analyzer(text: str) -> list[str]:
    """Words and word pairs; a pair may not start or end with a stop word ("card to"). A
    Korean word counts without its particle ("카드가", "카드를" -> "카드")."""
    words = []
    for word in TOKEN.findall(text.lower()):
        if word.endswith("'s"):
            word = word[:-2]  # "card's" -> "card"
        elif "'" in word:
            continue  # contractions ("hasn't", "i've") carry no topic
        if HANGUL_WORD.fullmatch(word):
            words.append(stem(word))  # one syllable can be a topic in Korean ("앱", "돈")
        elif len(word) > 1 and not word.isdigit():
            words.append(word)
    terms = [w for w in words if w not in IGNORED]
    terms += [
        f"{a} {b}"
        for a, b in zip(words, words[1:], strict=False)
        if a not in IGNORED and b not in IGNORED and a != b
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


def _words(text: str) -> list[str]:
    return [stem(word.removesuffix("'s")) for word in TOKEN.findall(text.lower())]


def title_phrases(
    texts_per_cluster: Sequence[Sequence[str]], keywords_per_cluster: Sequence[Sequence[str]]
) -> list[str]:
    """Per cluster, the words customers themselves put around its top keyword: the run of 2 to
    4 words holding it (stop words inside, never at either end: "source of funds", "direct
    debit", "verify my identity") that most of its items share; "" when no two share one."""
    phrases = []
    for texts, words in zip(texts_per_cluster, keywords_per_cluster, strict=True):
        top = words[0].split() if words else []
        counts: Counter = Counter()
        for text in set(texts):
            tokens = _words(text)
            seen = set()
            for size in range(2, 5):
                for start in range(len(tokens) - size + 1):
                    run = tokens[start : start + size]
                    if run[0] in IGNORED or run[-1] in IGNORED or len(set(run)) < size:
                        continue
                    joined = " ".join(run)
                    if joined not in seen and all(word in run for word in top):
                        seen.add(joined)
                        counts[joined] += 1
        # Shared by two items at least: a run of one customer's words may say who they are.
        shared = [(n, len(run.split()), run) for run, n in counts.items() if n >= 2]
        # The most items first; among as many, the longer run (it says more), then by name.
        best = min(shared, key=lambda one: (-one[0], -one[1], one[2]), default=None)
        phrases.append(best[2] if best else "")
    return phrases


def _same_stem(one: str, other: str) -> bool:
    return any(
        a[:SAME_STEM] == b[:SAME_STEM] if min(len(a), len(b)) >= SAME_STEM else a == b
        for a in one.split()
        for b in other.split()
    )


def key_phrase(keywords: Sequence[str], phrase: str = "", language: str = "en") -> str:
    """The cluster's keywords as a phrase a person would write: the customers' own phrase
    around the top keyword (title_phrases: "Payment is still pending"); a shorter one, or the
    top keyword alone, with the best keyword that says something else ("Crypto and
    exchange", in Korean "카드·배송"); never a list of words."""
    first = phrase or (keywords[0] if keywords else "")
    if not first:
        return ""
    if len(first.split()) < 3:
        second = next((term for term in keywords if not _same_stem(term, first)), "")
        joiner = "·" if language == "ko" else " and "
        first = f"{first}{joiner}{second}" if second else first
    return first[:1].upper() + first[1:]


def _with_ro(word: str) -> str:
    """The word with the particle 로/으로 its last syllable takes ("배송으로", "카드로")."""
    last = word[-1:] if word else ""
    if not HANGUL_WORD.fullmatch(last):
        return f"{word}(으)로"
    final_consonant = (ord(last) - 0xAC00) % 28
    return f"{word}로" if final_consonant in (0, 8) else f"{word}으로"  # 8: ㄹ takes 로


def _korean_title(wanted, answered, phrase: str, display) -> str:
    if wanted and answered and wanted != answered:
        return f"{display(wanted)} 문의를 {_with_ro(display(answered))} 답함"
    if wanted:
        return f"{display(wanted)}: 잘못된 답변"
    if answered:
        answered_as = f"{_with_ro(display(answered))} 답함"
        return f"{answered_as}: {phrase}" if phrase else answered_as
    return phrase or "이름 없는 카테고리"


def auto_title(
    *,
    labels: dict,
    keywords: Sequence[str],
    display: Callable[[str], str],
    phrase: str = "",
    language: str = "en",
) -> str:
    """A title a reviewer can keep or replace: the right answer customers wanted and what the
    model said instead when the labels say it, otherwise the cluster's key phrase. Korean
    (`language` "ko") when the cluster's items are Korean."""
    wanted = _dominant(labels["corrected"])
    answered = _dominant(labels["predicted"])
    if language == "ko":
        return _korean_title(wanted, answered, key_phrase(keywords, phrase, "ko"), display)
    if wanted and answered and wanted != answered:
        return f"{display(wanted)} answered as {display(answered)}"
    if wanted:
        return f"{display(wanted)}: wrong answers"
    phrase = key_phrase(keywords, phrase)
    if answered:
        return (
            f"Answered {display(answered)}: {phrase.lower()}"
            if phrase
            else f"Answered {display(answered)}"
        )
    return phrase or "Unnamed category"


def distinct_titles(titles: Sequence[str], keywords: Sequence[Sequence[str]]) -> list[str]:
    """The titles, those shared by several clusters told apart by each one's first keyword
    (or key phrase) that the others with that title do not have: "Card delivery estimate:
    wrong answers (tracking number)"; by number when no keyword tells them apart."""
    groups: dict[str, list[int]] = {}
    for index, title in enumerate(titles):
        groups.setdefault(title, []).append(index)
    result = list(titles)
    for title, members in groups.items():
        if len(members) < 2:
            continue
        unnamed = 0
        for index in members:
            others = {term for other in members if other != index for term in keywords[other]}
            own = next((term for term in keywords[index] if term not in others), None)
            if own is None:
                unnamed += 1
            result[index] = f"{title} ({own or unnamed})"
    return result
