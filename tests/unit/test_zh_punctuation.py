"""Chinese sentences use Chinese punctuation: no ASCII , ; : ? ! next to a Chinese character in the zh
catalogue (a colon in ``http://`` or between digits is not a sentence's punctuation and is left alone)."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "judging" / "translations" / "zh" / "LC_MESSAGES" / "messages.po"
CHINESE = r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef“”‘’《》]"
ASCII_BESIDE_CHINESE = re.compile(rf"(?<={CHINESE})\s*[,;:?!]|[,;:?!]\s*(?={CHINESE})")


def ascii_punctuation_in_chinese(text: str) -> list[str]:
    """The ASCII , ; : ? ! that stand next to a Chinese character in ``text``, with what surrounds them."""
    return [text[max(0, m.start() - 6) : m.end() + 6] for m in ASCII_BESIDE_CHINESE.finditer(text)]


def test_the_rule_finds_ascii_punctuation_between_chinese_characters() -> None:
    assert ascii_punctuation_in_chinese("已保存, 请继续") == ["已保存, 请继续"]
    assert ascii_punctuation_in_chinese("状态: 已提交") == ["状态: 已提交"]
    assert ascii_punctuation_in_chinese("确定要撤回吗?") == ["确定要撤回吗?"]
    assert ascii_punctuation_in_chinese("请输入网址（以 http:// 或 https:// 开头）。") == []
    assert ascii_punctuation_in_chinese("18:00 截止，共 3 项") == []


def test_no_ascii_punctuation_beside_chinese_in_the_zh_catalogue() -> None:
    with CATALOGUE.open("rb") as handle:
        catalogue = read_po(handle)
    found = {}
    for message in catalogue:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for string in strings:
            if string and ascii_punctuation_in_chinese(string):
                found[str(message.id)] = ascii_punctuation_in_chinese(string)
    assert found == {}
