"""Names in free text: matched after normalisation, masked at their original positions."""

from __future__ import annotations

import pytest

from judging.names_in_text import MASK, context_of, find_mentions, mask_names, normalise

NAMES = ["长宁区", "Changning", "浦东新区", "浦东"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("长宁区的作品", f"{MASK}的作品"),
        ("长\u200b宁区的作品", f"{MASK}的作品"),  # zero-width space
        ("长宁 区的作品", f"{MASK}的作品"),  # a space
        ("长宁\u3000区\ufeff的作品", f"{MASK}\ufeff的作品"),  # an ideographic space; the BOM after stays
        ("长·宁-区的作品", f"{MASK}的作品"),  # punctuation slipped in
        ("长\u00ad宁\u2060区", MASK),  # soft hyphen, word joiner
        ("由 CHANGNING 拍摄", f"由 {MASK} 拍摄"),
        ("由 ｃｈａｎｇｎｉｎｇ 拍摄", f"由 {MASK} 拍摄"),  # full-width letters
        ("由 Chang ning 拍摄", f"由 {MASK} 拍摄"),
        ("浦东新区和浦东", f"{MASK}和{MASK}"),  # the longer name wins where both match
        ("普陀区的作品", "普陀区的作品"),  # another name: untouched
        ("", ""),
    ],
)
def test_names_are_masked_however_they_are_disguised(text: str, expected: str) -> None:
    assert mask_names(text, NAMES) == expected


def test_the_rest_of_the_text_reads_as_written() -> None:
    text = "我们  在\u200b长 宁 区开展了“反诈”宣传，覆盖 3 万人。"
    assert mask_names(text, NAMES) == f"我们  在\u200b{MASK}开展了“反诈”宣传，覆盖 3 万人。"


def test_mentions_point_at_the_original_characters() -> None:
    text = "案例：长\u200b宁区网信办"
    [mention] = find_mentions(text, NAMES)
    assert (mention.start, mention.end, mention.name) == (3, 7, "长宁区")
    assert text[mention.start : mention.end] == "长\u200b宁区"
    assert context_of(text, mention) == "案例：【长\u200b宁区】网信办"


def test_too_short_and_empty_names_are_not_searched() -> None:
    assert mask_names("a b 区 update", ["a", "", " ", "区"]) == "a b 区 update"


def test_normalisation_folds_width_case_and_drops_invisible_characters() -> None:
    assert normalise("Ｃｈａｎｇ\u200bＮＩＮＧ 区") == "changning区"
