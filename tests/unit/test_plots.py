"""The results charts (judging/exports/plots.py): SVG text with the labels and numbers given."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from decimal import Decimal

from judging.exports.plots import RankedBar, judge_distributions_svg, ranked_scores_svg

SVG = "{http://www.w3.org/2000/svg}"


def _texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    return ["".join(element.itertext()).strip() for element in root.iter(f"{SVG}text")]


def test_judge_distributions_show_the_panel_first_then_each_judge():
    svg = judge_distributions_svg(
        {"王教授": [80, 85, 90], "李研究员": [70, 75]}, "全体评委", "评分表总分", "评委评分分布"
    )
    texts = _texts(svg)
    assert texts.index("全体评委") < texts.index("王教授") < texts.index("李研究员")
    assert "评分表总分" in texts and "评委评分分布" in texts
    assert "<script" not in svg
    # Drawn from the data alone: the same input gives the same picture.
    assert svg == judge_distributions_svg(
        {"王教授": [80, 85, 90], "李研究员": [70, 75]}, "全体评委", "评分表总分", "评委评分分布"
    )


def test_ranked_scores_label_each_bar_with_its_score_and_the_awards_in_the_legend():
    bars = [
        RankedBar("MV-002", Decimal("84.50"), "一等奖"),
        RankedBar("MV-001", Decimal("84.00"), "二等奖"),
        RankedBar("MV-004", Decimal("61.75"), ""),
    ]
    texts = _texts(ranked_scores_svg(bars, ["一等奖", "二等奖", "三等奖"], "未获奖", "总成绩", "排名"))
    assert {"MV-002", "MV-001", "MV-004", "84.50", "84.00", "61.75"} <= set(texts)
    assert [text for text in texts if text in ("一等奖", "二等奖", "三等奖", "未获奖")] == [
        "一等奖",
        "二等奖",
        "未获奖",
    ]
