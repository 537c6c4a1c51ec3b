"""Korean (Hangul) text for the light representation, keywords and boilerplate. Pure.

Korean glues particles and endings to words: `카드가`, `카드를`, `카드는` are one word with
three particles, and `안와요`, `안 왔어요` one complaint spelt two ways. Splitting on spaces
would make them unrelated words. Two measures, chosen because they need no dictionary:

- a Hangul word loses a trailing particle (a short closed list), so `카드가` and `카드를` both
  count as the word `카드` in word features and keywords;
- every Hangul word (without its particle) also yields its syllables and syllable pairs (the
  word's edges marked), which match verb forms and spacing variants a particle list cannot.
  Measured on the Korean replay over three seeds: complaints NMI 0.809 / ARI 0.261 with these,
  0.789 / 0.209 with pairs and triples of the unstripped words, 0.75 / 0.09 with words alone.

Text without Hangul passes through unchanged, so English features stay exactly as they were.
"""

import re

HANGUL = re.compile(r"[\uac00-\ud7a3]")
HANGUL_WORD = re.compile(r"[\uac00-\ud7a3]+")
WORD = re.compile(r"\w+", re.UNICODE)

# Particles (조사) and the commonest polite ending, longest first. A one-syllable particle is
# only stripped from a word of three syllables or more (`나이` stays, `카드가` → `카드`).
PARTICLES = sorted(
    {
        "에서는", "으로는", "에게서", "한테서", "이라고", "이라도", "까지는", "부터는",
        "에서", "에게", "한테", "으로", "까지", "부터", "처럼", "보다", "이랑", "하고",
        "이나", "에는", "에도", "은요", "는요", "이요", "께서", "마다", "밖에", "라도",
        "은", "는", "이", "가", "을", "를", "에", "의", "도", "만", "로", "와", "과", "랑", "요",
    },
    key=len,
    reverse=True,
)  # fmt: skip
# Korean words that carry no topic in a complaint or query (filler, politeness, negation).
KOREAN_FILLER = frozenset(
    """
    좀 왜 너무 진짜 정말 그냥 제 저 저는 제가 내 나 이거 그거 저거 이게 그게 어떻게 어떡해 어떡하죠
    있나요 있어요 있습니다 없어요 없나요 해요 합니다 하나요 했어요 해주세요 주세요 하는데 했는데
    돼요 되나요 됩니다 됐어요 안 못 다 또 계속 지금 아직 방금 혹시 근데 그런데 그리고 그래서 그럼
    수 것 거 게 건 뭐 뭔가 무슨 언제 어디 어디서 얼마나 몇 번 네 아니 아니요 요 ㅠㅠ ㅡㅡ ㅋㅋ
    """.split()
)
NGRAM_PREFIX = "~"  # keeps a syllable n-gram apart from a two-syllable word


def has_hangul(text: str) -> bool:
    return HANGUL.search(text) is not None


def stem(word: str) -> str:
    """A Hangul word without its trailing particle; any other word unchanged."""
    if not HANGUL_WORD.fullmatch(word):
        return word
    for particle in PARTICLES:
        rest = len(word) - len(particle)
        if word.endswith(particle) and rest >= (2 if len(particle) == 1 else 1):
            return word[:rest]
    return word


def normalise(text: str) -> str:
    """The text with each Hangul word's particle removed (unchanged without Hangul)."""
    if not has_hangul(text):
        return text
    return HANGUL_WORD.sub(lambda match: stem(match.group()), text)


def syllable_ngrams(text: str, sizes: tuple[int, ...] = (1, 2)) -> list[str]:
    """Character n-grams within each Hangul word, edges marked by a space."""
    grams = []
    for match in HANGUL_WORD.finditer(text):
        word = f" {match.group()} "
        for size in sizes:
            grams.extend(
                NGRAM_PREFIX + word[start : start + size]
                for start in range(len(word) - size + 1)
                if word[start : start + size].strip()
            )
    return grams
