"""Seeded train/validation split in which near-duplicate inputs stay on the same side.

The side of a row depends only on the seed and its input's near-duplicate key (a
normalised form of the text): no state is kept between rows, so the
split streams at any size in constant memory, and the same rows get the same sides in every
export with the same seed. Every label's groups go to validation with the same probability,
so the split is stratified in expectation; the manifest records the actual counts per side.
"""

import hashlib
import re
import unicodedata

TRAIN = "train"
VALIDATION = "validation"

_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)
_DIGITS = re.compile(r"\d+")


def near_duplicate_key(text: str) -> str:
    """Texts that differ only in case, accents' composition, punctuation, spacing or the
    numbers in them get the same key ("Card #1234 lost!!" ~ "card 9876 lost")."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _DIGITS.sub("0", text)
    return " ".join(_NON_WORD.sub(" ", text).split())


def unit_interval(*parts: str) -> float:
    """A uniform number in [0, 1) derived from the parts (stable across processes)."""
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def split_side(*, key: str, validation: float, seed: int) -> str:
    """The side of a near-duplicate group. The label is not part of it: near-duplicates
    resolved to different labels must still stay together."""
    if validation <= 0:
        return TRAIN
    return VALIDATION if unit_interval(str(seed), key) < validation else TRAIN
