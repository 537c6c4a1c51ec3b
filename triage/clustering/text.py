"""Text handling: tokens, complaint boilerplate, the text that represents an item.

Boilerplate ("why doesn't this work", "wrong answer again") appears across many unrelated
complaints and would otherwise drive the grouping. It is learned, not listed: a phrase is
boilerplate when it is far more frequent in complaints than in the model's own inputs (the
queries customers actually asked), which holds for any language or domain.
"""

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache

TOKEN = re.compile(r"\w+(?:'\w+)?", re.UNICODE)
MAX_PHRASE_WORDS = 6
# A phrase must be this many times more frequent in complaints than in model inputs...
MIN_LIFT = 10.0
# ...and appear in at least this many complaints (and this share of them).
MIN_COMPLAINTS = 5
MIN_SHARE = 0.01
# A longer candidate that mostly repeats a shorter, much more frequent one plus a content
# word ("card wrong answer again") is dropped in favour of the shorter one.
SUBSUMED_FACTOR = 3


def tokens(text: str) -> list[str]:
    return TOKEN.findall(text.lower())


def _phrases(words: Sequence[str]) -> set[str]:
    found = set()
    for size in range(1, MAX_PHRASE_WORDS + 1):
        for start in range(len(words) - size + 1):
            found.add(" ".join(words[start : start + size]))
    return found


def _document_frequency(texts: Iterable[str]) -> tuple[Counter, int]:
    counts: Counter = Counter()
    n = 0
    # Each distinct text is split once and counted as often as it occurs (many customers
    # send the same words).
    for text, times in Counter(texts).items():
        counts.update(dict.fromkeys(_phrases(tokens(text)), times))
        n += times
    return counts, n


def find_boilerplate(complaints: Sequence[str], reference: Sequence[str]) -> list[str]:
    """Phrases that are complaint boilerplate, longest first.

    `complaints` are the customers' own words; `reference` a sample of the model's inputs.
    Without a reference (a model with structured inputs only) nothing is learned.
    """
    if not complaints or not reference:
        return []
    in_complaints, n = _document_frequency(complaints)
    in_reference, m = _document_frequency(reference)
    floor = max(MIN_COMPLAINTS, MIN_SHARE * n)
    candidates = {}
    for phrase, count in in_complaints.items():
        if count < floor:
            continue
        lift = (count / n) / ((in_reference.get(phrase, 0) + 1) / (m + 1))
        if lift >= MIN_LIFT:
            candidates[phrase] = count
    kept = [
        phrase
        for phrase, count in candidates.items()
        if not any(
            other != phrase
            and f" {other} " in f" {phrase} "
            and other_count >= SUBSUMED_FACTOR * count
            for other, other_count in candidates.items()
        )
    ]
    return sorted(kept, key=lambda p: (-len(p.split()), p))


def strip_phrases(text: str, phrases: Sequence[str]) -> str:
    """The text's words without the given phrases (matched on whole words; every occurrence
    of every phrase is removed, overlapping ones included)."""
    words = tokens(text)
    if not phrases or not words:
        return " ".join(words)
    return " ".join(_strip(words, _by_first_word(tuple(phrases))))


@lru_cache(maxsize=8)
def _by_first_word(phrases: tuple[str, ...]) -> dict[str, list[tuple[str, ...]]]:
    # Indexed by first word, so each position of a text is compared only with the phrases
    # that can start there (a run strips a hundred phrases from every one of 100,000 items).
    index: dict[str, list[tuple[str, ...]]] = {}
    for phrase in phrases:
        parts = tuple(phrase.split())
        if parts:
            index.setdefault(parts[0], []).append(parts)
    return index


def _strip(words: list[str], index: dict[str, list[tuple[str, ...]]]) -> list[str]:
    keep = [True] * len(words)
    for start, word in enumerate(words):
        for parts in index.get(word, ()):
            end = start + len(parts)
            if tuple(words[start:end]) == parts:
                keep[start:end] = [False] * len(parts)
    return [word for word, kept in zip(words, keep, strict=True) if kept]


def item_text(*, own_text: str, input_text: str, boilerplate: Sequence[str]) -> str:
    """What represents an item: the model's input when the feedback is linked to a
    prediction (the customer's actual question, usually cleaner than the complaint), followed
    by the customer's own words without boilerplate."""
    own = strip_phrases(own_text, boilerplate) if own_text else ""
    return f"{input_text.strip()} {own}".strip() if input_text else own
