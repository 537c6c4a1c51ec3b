"""Korean text in the light representation and the keywords (triage/clustering/hangul.py)."""

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from triage.clustering.describe import auto_title, keywords, title_phrases
from triage.clustering.hangul import normalise, stem, syllable_ngrams
from triage.clustering.representations import LsaRepresentation, lsa_terms


def test_a_korean_word_loses_its_particle_but_a_short_word_keeps_its_last_syllable():
    assert {stem(word) for word in ("카드가", "카드를", "카드는", "카드에서", "카드로")} == {"카드"}
    assert stem("나이") == "나이"  # "이" is part of the word here, not a particle
    assert stem("card") == "card"
    assert normalise("새 카드가 아직 안 왔어요") == "새 카드 아직 안 왔어"


def test_syllable_ngrams_stay_inside_words_and_mark_their_edges():
    grams = syllable_ngrams("안 왔어요")
    assert "~안왔" not in grams  # never across the space
    assert {"~안", "~ 안", "~안 ", "~ 왔", "~왔어", "~어요", "~요 "} <= set(grams)
    assert "~ " not in grams  # no gram of spaces alone


def test_english_text_gets_exactly_the_word_terms_it_had_before():
    before = TfidfVectorizer(ngram_range=(1, 2), stop_words="english").build_analyzer()
    for text in ("My card hasn't arrived, where is it?", "Top-up failed AGAIN", "pin blocked"):
        assert lsa_terms(text) == before(text)


def test_two_spellings_of_a_korean_complaint_are_closer_than_another_topic():
    corpus = [
        "카드가 안 와요", "카드가안와요", "카드를 아직 못 받았어요", "새 카드 배송이 늦어요",
        "탑업이 실패했어요", "충전이 안 돼요", "탑업 실패 왜 그래요", "송금이 안 됐어요",
        "이체한 돈이 안 들어왔어요", "환율이 이상해요", "환전 수수료가 비싸요", "핀번호를 잊어버렸어요",
    ]  # fmt: skip
    vectors = (
        LsaRepresentation()
        .fit(corpus)
        .transform(["카드가 안 와요", "카드가안와요", "탑업이 실패했어요"])
    )
    same, other = float(vectors[0] @ vectors[1]), float(vectors[0] @ vectors[2])
    assert np.isfinite(same) and same > other + 0.2


def test_keywords_and_title_phrases_read_as_korean_words_without_particles():
    clusters = [
        ["카드가 아직 안 왔어요", "카드 배송이 너무 늦어요", "새 카드를 언제 받나요", "카드 배송 언제 와요?"],
        ["탑업이 실패했어요", "충전이 안 돼요 탑업 실패", "탑업 실패 왜 그래요"],
    ]  # fmt: skip
    words = keywords(clusters)
    assert words[0][:2] == ["카드", "배송"] and words[1][:2] == ["탑업", "실패"]
    assert "너무" not in words[0] and "왜" not in words[1]  # filler is no keyword
    assert title_phrases(clusters, words) == ["카드 배송", "탑업 실패"]


def test_a_korean_cluster_gets_a_korean_title_with_the_right_particle():
    names = {
        "card_arrival": "카드 배송",
        "card_delivery_estimate": "배송 예상 기간",
        "exchange_rate": "환율",
    }
    confused = {"corrected": {"card_arrival": 5}, "predicted": {"card_delivery_estimate": 5}}
    assert (
        auto_title(labels=confused, keywords=[], display=names.get, language="ko")
        == "카드 배송 문의를 배송 예상 기간으로 답함"
    )
    to_rate = {"corrected": {"card_arrival": 3}, "predicted": {"exchange_rate": 3}}
    assert auto_title(labels=to_rate, keywords=[], display=names.get, language="ko").endswith(
        "환율로 답함"  # ㄹ takes 로
    )
    nothing = {"corrected": {}, "predicted": {}}
    assert auto_title(labels=nothing, keywords=["카드", "배송"], display=str, language="ko") == (
        "카드·배송"
    )


def test_the_engine_titles_korean_clusters_in_korean_and_english_ones_in_english():
    from triage.clustering.engine import EngineConfig, _title

    config = EngineConfig(
        display=lambda label: "Card arrival", display_in={"ko": lambda label: "카드 배송"}
    )
    labels = {"corrected": {"card_arrival": 4}, "predicted": {}}
    korean = _title(config, labels, [], "", ["카드가 안 와요", "카드 언제 와요", "my card"])
    english = _title(config, labels, [], "", ["where is my card", "card not here", "카드"])
    assert korean == "카드 배송: 잘못된 답변"
    assert english == "Card arrival: wrong answers"
