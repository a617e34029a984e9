"""Language of a text: declared codes normalised to ISO 639-1, otherwise detected.

Detection uses py3langid's bundled model (loaded once, on first use, from the installed
package; nothing is downloaded). Han, kana and Hangul are told apart by script first,
because the statistical model is unreliable on short CJK titles.
"""

from __future__ import annotations

import functools
import re
from typing import Protocol

# Minimum evidence before we trust a guess.
_MIN_LETTERS = 20
_MIN_CJK_CHARS = 4
_MIN_PROBABILITY = 0.7
_SAMPLE_CHARS = 3000

_CODE = re.compile(r"[a-z]{2,3}")
# ISO 639-2/3 codes and legacy or macro-language codes seen in feeds.
_ALIASES = {
    "ara": "ar",
    "bul": "bg",
    "ces": "cs",
    "cze": "cs",
    "chi": "zh",
    "zho": "zh",
    "cmn": "zh",
    "yue": "zh",
    "dan": "da",
    "deu": "de",
    "ger": "de",
    "ell": "el",
    "gre": "el",
    "eng": "en",
    "fas": "fa",
    "per": "fa",
    "fin": "fi",
    "fra": "fr",
    "fre": "fr",
    "heb": "he",
    "iw": "he",
    "hin": "hi",
    "hun": "hu",
    "ind": "id",
    "in": "id",
    "ita": "it",
    "jpn": "ja",
    "ji": "yi",
    "jw": "jv",
    "kor": "ko",
    "nld": "nl",
    "dut": "nl",
    "nor": "no",
    "pol": "pl",
    "por": "pt",
    "ron": "ro",
    "rum": "ro",
    "rus": "ru",
    "spa": "es",
    "swe": "sv",
    "tur": "tr",
    "ukr": "uk",
    "urd": "ur",
    "vie": "vi",
}
# Written-out names some feeds put in <language>.
_NAMES = {
    "english": "en",
    "french": "fr",
    "français": "fr",
    "german": "de",
    "deutsch": "de",
    "spanish": "es",
    "español": "es",
    "russian": "ru",
    "chinese": "zh",
    "japanese": "ja",
    "portuguese": "pt",
    "italian": "it",
}
# "undetermined", "multiple", "no linguistic content" and other non-answers.
_CJK_LANGUAGES = frozenset({"zh", "ja", "ko"})
_NOT_A_LANGUAGE = frozenset({"und", "mul", "zxx", "mis", "xx", "x", "i"})

_KANA = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff]")
_HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LETTER = re.compile(r"[^\W\d_]")
_URL = re.compile(r"\bhttps?://\S+")


class _Classifier(Protocol):
    def classify(self, text: str) -> tuple[str, float]: ...


def normalize_language(code: str | None) -> str | None:
    """ISO 639-1 code for a declared language ("en-US" -> "en", "zh_Hans" -> "zh").

    Returns None for empty, malformed or non-committal codes ("und", "x-default").
    """
    if not code:
        return None
    first = code.strip().split(",")[0].strip().lower()
    if first in _NAMES:
        return _NAMES[first]
    primary = first.replace("_", "-").split("-")[0].strip()
    if not _CODE.fullmatch(primary) or primary in _NOT_A_LANGUAGE:
        return None
    primary = _ALIASES.get(primary, primary)
    return primary if len(primary) == 2 else None


@functools.cache
def _classifier() -> _Classifier:
    # Deferred: importing py3langid pulls in numpy, and most feeds declare a language.
    from py3langid.langid import MODEL_FILE, LanguageIdentifier  # noqa: PLC0415

    identifier: _Classifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    return identifier


def _script_language(text: str) -> str | None:
    """ "ja", "ko" or "zh" when the text is mostly in that script, else None."""
    kana = len(_KANA.findall(text))
    hangul = len(_HANGUL.findall(text))
    han = len(_HAN.findall(text))
    letters = len(_LETTER.findall(text))
    if kana + hangul + han < max(_MIN_CJK_CHARS, letters // 3):
        return None
    if hangul > kana and hangul >= han / 4:
        return "ko"
    # Japanese prose is a third or more kana; Chinese text borrows the odd "の".
    if kana >= 2 and kana * 10 >= kana + han:
        return "ja"
    return "zh" if han >= hangul else "ko"


def detect_language(text: str, hint: str | None = None) -> str | None:
    """ISO 639-1 language of ``text``: the normalised ``hint`` when usable, else detected.

    A text mostly in Han, kana or Hangul script overrides a non-CJK hint.

    Returns None when the text is too short or the detector is not confident.
    """
    declared = normalize_language(hint)
    sample = _URL.sub(" ", text[:_SAMPLE_CHARS])
    by_script = _script_language(sample)
    # Feeds often declare their CMS default ("en") over Chinese or Japanese text; the
    # script is harder evidence than the label, so it wins over a non-CJK hint.
    if by_script and declared not in _CJK_LANGUAGES:
        return by_script
    if declared:
        return declared
    if len(_LETTER.findall(sample)) < _MIN_LETTERS:
        return None
    language, probability = _classifier().classify(sample)
    if probability < _MIN_PROBABILITY:
        return None
    return normalize_language(language)
