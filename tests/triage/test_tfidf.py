"""The likely-wrong check's TF-IDF (triage/exports/tfidf.py) gives scikit-learn's vectors to
the last bit, so replacing it changed no flag; and an export with the check no longer
imports scikit-learn."""

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize as sk_normalize

from triage.exports.tfidf import Tfidf, normalize

DEMO = Path(__file__).resolve().parents[2] / "feedback/demo_data/banking77/train.csv"
ODD = ["", "  ", "a b c", "Über CAFÉ à l'été", "x" * 500, "don't, can't; WON'T!", "12 34 5"]


def texts() -> list[str]:
    with open(DEMO, newline="", encoding="utf-8") as handle:
        return [row[0] for row in csv.reader(handle)][1:]


def test_the_vectors_are_scikit_learns_to_the_last_bit():
    queries = texts()
    pool, asked = queries[:6000] + ODD, queries[6000:7000] + ODD + ["never seen words"]
    theirs = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, dtype=np.float32)
    ours = Tfidf()

    fitted, fitted_theirs = ours.fit_transform(pool), theirs.fit_transform(pool)
    asked_ours, asked_theirs = ours.transform(asked), theirs.transform(asked)

    assert ours.vocabulary == theirs.vocabulary_
    assert np.array_equal(ours.idf, theirs.idf_)
    for a, b in ((fitted, fitted_theirs), (asked_ours, asked_theirs)):
        assert a.dtype == b.dtype == np.float32 and a.shape == b.shape
        assert (a != b).nnz == 0


def test_normalize_is_scikit_learns_for_dense_rows_too():
    rows = np.random.default_rng(0).normal(size=(40, 7)).astype(np.float32)
    rows[3] = 0

    assert np.array_equal(normalize(rows), sk_normalize(rows))
    assert np.array_equal(normalize(np.array([[3, 4], [0, 0]])), [[0.6, 0.8], [0, 0]])


def test_a_pool_without_a_word_is_refused_as_scikit_learn_does():
    with pytest.raises(ValueError):
        Tfidf().fit_transform(["", "a", "!!"])


def test_an_export_with_the_check_does_not_import_scikit_learn():
    code = (
        "import sys, django, os;"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings.test');"
        "django.setup();"
        "import triage.services.export_build, triage.services.export_checks;"
        "from triage.exports import checks, tfidf;"
        "tfidf.Tfidf().fit_transform(['where is my card', 'card arrival']);"
        "print('sklearn' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)

    assert result.stdout.strip().splitlines()[-1] == "False", result.stderr
