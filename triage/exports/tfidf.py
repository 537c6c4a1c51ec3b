"""TF-IDF vectors for the likely-wrong check, on NumPy and scipy.sparse alone.

The check used scikit-learn's TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True,
dtype=float32) and its `normalize`; importing scikit-learn costs ~150 MB of resident memory
(it pulls in most of SciPy), which put an export with the check over the 300 MB of every
other export (BENCHMARKS.md). This is the same computation, step for step, so the vectors
are the same (tests/triage/test_tfidf.py compares them):

- words: lower-cased, the tokens of two or more word characters (`(?u)\\b\\w\\w+\\b`), then
  the pairs of consecutive tokens joined by a space;
- counts per document, columns in the vocabulary's sorted order;
- tf = 1 + ln(count); idf = ln((1 + documents) / (1 + documents with the term)) + 1;
- each row scaled to unit length.
"""

import re

import numpy as np
from scipy import sparse

TOKEN = re.compile(r"(?u)\b\w\w+\b")


def _terms(text: str) -> list[str]:
    tokens = TOKEN.findall(text.lower())
    return tokens + [f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False)]


def _row_norms(data: np.ndarray, indptr: np.ndarray) -> np.ndarray:
    """Each row's length, summed as scikit-learn's inplace_csr_row_normalize_l2 does (each
    square in the data's type, added in order into a double), so the results are equal to
    the last bit: a pairwise sum would differ in the last bit of some."""
    squares = (data * data).astype(np.float64)
    starts, lengths = indptr[:-1], np.diff(indptr)
    sums = np.zeros(len(lengths))
    for k in range(int(lengths.max(initial=0))):
        rows = np.flatnonzero(lengths > k)
        sums[rows] += squares[starts[rows] + k]
    return np.sqrt(sums)


def normalize(vectors):
    """Rows scaled to unit length (rows of zeros stay zeros); sparse stays sparse (CSR)."""
    if sparse.issparse(vectors):
        vectors = sparse.csr_matrix(vectors, copy=True)
        vectors.sum_duplicates()
        norms = _row_norms(vectors.data, vectors.indptr)
        norms[norms == 0] = 1.0
        scale = np.repeat(norms, np.diff(vectors.indptr))
        vectors.data = (vectors.data / scale).astype(vectors.dtype, copy=False)
        return vectors
    vectors = np.asarray(vectors)
    if vectors.dtype.kind not in "fc":
        vectors = vectors.astype(np.float64)
    norms = np.sqrt(np.einsum("ij,ij->i", vectors, vectors))
    norms[norms == 0] = 1.0
    return vectors / norms[:, None]


class Tfidf:
    """fit_transform(texts) learns the vocabulary and the idf; transform(texts) applies them
    (terms outside the vocabulary are ignored). Both return CSR float32 rows of unit length."""

    def __init__(self):
        self.vocabulary: dict[str, int] = {}
        self.idf = np.empty(0, dtype=np.float32)

    def fit_transform(self, texts: list[str]):
        vocabulary: dict[str, int] = {}
        counts = self._counts(texts, vocabulary, grow=True)
        if not vocabulary:
            raise ValueError("empty vocabulary: no document has a word")
        # Columns in sorted term order, as scikit-learn has them (sums add up in that order).
        order = sorted(vocabulary)
        remap = np.empty(len(order), dtype=np.int32)
        for new, term in enumerate(order):
            remap[vocabulary[term]] = new
            vocabulary[term] = new
        counts.indices = remap[counts.indices]
        counts.has_sorted_indices = False
        counts.sort_indices()
        self.vocabulary = vocabulary
        documents = np.float32(counts.shape[0] + 1)
        frequency = np.bincount(counts.indices, minlength=len(order)).astype(np.float32) + 1
        self.idf = np.log(documents / frequency) + np.float32(1)
        return self._weigh(counts)

    def transform(self, texts: list[str]):
        return self._weigh(self._counts(texts, self.vocabulary, grow=False))

    def _counts(self, texts, vocabulary: dict[str, int], *, grow: bool):
        indices: list[int] = []
        values: list[int] = []
        indptr = [0]
        for text in texts:
            counter: dict[int, int] = {}
            for term in _terms(text):
                column = vocabulary.get(term)
                if column is None:
                    if not grow:
                        continue
                    column = vocabulary[term] = len(vocabulary)
                counter[column] = counter.get(column, 0) + 1
            indices.extend(counter)
            values.extend(counter.values())
            indptr.append(len(indices))
        counts = sparse.csr_matrix(
            (
                np.asarray(values, dtype=np.float32),
                np.asarray(indices, dtype=np.int32),
                np.asarray(indptr, dtype=np.int32),
            ),
            shape=(len(indptr) - 1, len(vocabulary)),
        )
        counts.sort_indices()
        return counts

    def _weigh(self, counts):
        np.log(counts.data, out=counts.data)
        counts.data += np.float32(1)
        counts.data *= self.idf[counts.indices]
        return normalize(counts)
