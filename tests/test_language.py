"""Declared language codes and language detection (summaries.language)."""

from __future__ import annotations

import pytest

from summaries.language import detect_language, normalize_language


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("en", "en"),
        ("en-US", "en"),
        ("EN_gb", "en"),
        ("zh-Hans", "zh"),
        ("zh_CN", "zh"),
        ("zh-Hant-TW", "zh"),
        ("  fr-FR  ", "fr"),
        ("de-DE, en", "de"),
        ("eng", "en"),
        ("fre", "fr"),
        ("zho", "zh"),
        ("iw", "he"),
        ("English", "en"),
        ("und", None),
        ("x-default", None),
        ("*", None),
        ("", None),
        (None, None),
        ("e", None),
        ("english-ish", None),
        ("abc", None),
        ("12", None),
    ],
)
def test_normalize_language_gives_iso_639_1(code: str | None, expected: str | None) -> None:
    assert normalize_language(code) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Researchers measured how kelp forests recover after marine heatwaves along the coast.",
            "en",
        ),
        (
            "Les chercheurs ont mesuré comment les forêts de varech se rétablissent"
            " après les vagues de chaleur.",
            "fr",
        ),
        (
            "Die Forscher haben gemessen, wie sich Kelpwälder nach marinen Hitzewellen erholen.",
            "de",
        ),
        (
            "Исследователи измерили, как восстанавливаются леса водорослей"
            " после морских волн жары.",
            "ru",
        ),
        ("科技爱好者周刊：第 102 期", "zh"),
        ("Chrome OS 的 Linux 终端迎来一系列新功能，运行更轻松", "zh"),
        ("東京で新しい研究が発表されました", "ja"),
        ("한국 연구진이 새로운 결과를 발표했습니다", "ko"),
    ],
)
def test_detect_language_recognises_common_languages(text: str, expected: str) -> None:
    assert detect_language(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "ok", "12345 67890 !!!", "https://example.org/a/very/long/url/with/words/in/it", "科技"],
)
def test_detect_language_returns_none_for_too_little_text(text: str) -> None:
    assert detect_language(text) is None


@pytest.mark.parametrize(
    ("text", "hint", "expected"),
    [
        ("Researchers measured how kelp forests recover.", "en-US", "en"),
        ("ok", "pt-BR", "pt"),
        ("Short", "zh_CN", "zh"),
        ("Researchers measured how kelp forests recover after heatwaves.", "und", "en"),
        # A CMS default "en" over Chinese text: the script wins.
        ("最近看异步 IO，发现 curio 真是好，看了一半感觉豁然开朗", "en", "zh"),
        # A CJK hint is kept even when the script looks like another CJK language.
        ("東京で新しい研究が発表されました", "zh", "zh"),
    ],
)
def test_detect_language_prefers_a_usable_hint(text: str, hint: str, expected: str) -> None:
    assert detect_language(text, hint) == expected
