"""Finding names in free text the way a determined entrant would try to hide them, and masking them.

Pure: strings in, strings out (no Flask, no database). A name is matched on *normalised* text, so that
``长\\u200b宁区`` (a zero-width space), ``长宁 区`` (a space), ``ＣＨＡＮＧＮＩＮＧ`` (full-width letters) and
``changning`` all match the name ``长宁区`` or the alias ``Changning``. Each match is mapped back to the
positions of the original text, so that a mask covers exactly the disguised name and the rest of the
text reads as written.

The normalisation, one character at a time: Unicode NFKC (full-width and compatibility forms become
the plain ones), then case folding; then characters that do not change what a reader reads as the name
are dropped: every kind of space and line break, format characters (zero-width spaces and joiners, the
soft hyphen, direction marks), control characters, combining marks and punctuation (``长·宁区``).
What it does not see through: homoglyphs of another script and other spellings (traditional
characters ``長寧區``, pinyin, abbreviations); those are covered by an organisation's declared aliases.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

MASK = "■■■"
"""Shown to a blind judge in place of a name found in an entry's text."""

MIN_NAME_LENGTH = 2
"""A name shorter than this once normalised (one letter, one character) would mask ordinary words."""

_DROPPED_CATEGORIES = frozenset(
    {"Zs", "Zl", "Zp", "Cc", "Cf", "Co", "Cs", "Cn", "Mn", "Me", "Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po"}
)
"""Spaces, control and format characters (zero-width ones), unassigned ones, combining marks, punctuation."""


@lru_cache(maxsize=65536)
def _fold(character: str) -> str:
    """What one character of the text becomes once normalised (possibly nothing, possibly several)."""
    folded = unicodedata.normalize("NFKC", character).casefold()
    return "".join(c for c in folded if unicodedata.category(c) not in _DROPPED_CATEGORIES and not c.isspace())


def normalise(text: str) -> str:
    """The text as names are matched in it (see the module's docstring)."""
    return "".join(map(_fold, text))


def normalise_with_positions(text: str) -> tuple[str, list[int]]:
    """The normalised text and, for each of its characters, the index of the original character it comes from."""
    out: list[str] = []
    origin: list[int] = []
    for index, character in enumerate(text):
        folded = _fold(character)
        if folded:
            out.append(folded)
            origin.extend([index] * len(folded))
    return "".join(out), origin


@dataclass(frozen=True)
class Mention:
    """A name found in a text: ``text[start:end]`` is how it was written there."""

    start: int
    end: int
    name: str
    """The name (or alias) as declared, not as written."""


def searchable_names(names: Iterable[str]) -> list[tuple[str, str]]:
    """(normalised, declared) pairs of the names worth searching for, the longest first (so that
    ``浦东新区`` wins over its alias ``浦东`` where both match), without duplicates and too-short names."""
    pairs: dict[str, str] = {}
    for name in names:
        key = normalise(name or "")
        if len(key) >= MIN_NAME_LENGTH and key not in pairs:
            pairs[key] = name
    return sorted(pairs.items(), key=lambda pair: (-len(pair[0]), pair[0]))


def find_mentions(text: str, names: Iterable[str]) -> list[Mention]:
    """Every place the text names one of ``names``, in text order, without overlaps (a longer name wins).

    A mention's span runs from the original character of the first matched character to that of the
    last, so whatever was slipped in between (a zero-width space, a space) is inside it.
    """
    wanted = searchable_names(names)
    if not text or not wanted:
        return []
    folded, origin = normalise_with_positions(text)
    taken = [False] * len(folded)
    found: list[tuple[int, int, str]] = []
    for key, declared in wanted:
        start = folded.find(key)
        while start != -1:
            end = start + len(key)
            if not any(taken[start:end]):
                taken[start:end] = [True] * len(key)
                found.append((start, end, declared))
            start = folded.find(key, start + 1)
    found.sort()
    return [Mention(origin[start], origin[end - 1] + 1, declared) for start, end, declared in found]


def mask_names(text: str, names: Iterable[str], mask: str = MASK) -> str:
    """The text with every mention of ``names`` replaced by ``mask``; the rest stays as written."""
    mentions = find_mentions(text, names)
    if not mentions:
        return text
    parts: list[str] = []
    position = 0
    for mention in mentions:
        if mention.start < position:  # two names from one original character (a ligature): one mask
            position = max(position, mention.end)
            continue
        parts += [text[position : mention.start], mask]
        position = mention.end
    parts.append(text[position:])
    return "".join(parts)


def context_of(text: str, mention: Mention, width: int = 20) -> str:
    """The mention with up to ``width`` characters either side, on one line, for the organiser's blind check."""
    before = text[max(0, mention.start - width) : mention.start]
    after = text[mention.end : mention.end + width]
    snippet = f"{'…' if mention.start > width else ''}{before}【{text[mention.start : mention.end]}】{after}"
    snippet += "…" if mention.end + width < len(text) else ""
    return " ".join(snippet.split())
