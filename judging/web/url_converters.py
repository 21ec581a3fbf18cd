"""URL converters that refuse what the database cannot hold: the answer is 404, never a 500.

- ``int``: at most 2**31 - 1, the largest id PostgreSQL's INTEGER and a 32-bit SQLite column hold;
  beyond it SQLite raised OverflowError and PostgreSQL an out-of-range error.
- ``default``/``string`` and ``path``: no control characters (NUL, which PostgreSQL refuses in text,
  and the rest of C0 and DEL), which no slug, code or file name of ours contains.
"""

from __future__ import annotations

from flask import Flask
from werkzeug.routing import IntegerConverter, Map, PathConverter, UnicodeConverter

LARGEST_ID = 2**31 - 1
CONTROL_CHARACTERS = "\x00-\x1f\x7f"


class BoundedIntConverter(IntegerConverter):
    """``<int:…>`` with a ceiling of :data:`LARGEST_ID` unless the rule sets a lower ``max``."""

    regex = r"\d{1,10}"  # longer runs of digits cannot be in range: no time spent parsing them

    def __init__(self, map: Map, fixed_digits: int = 0, min: int | None = None, max: int | None = None) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=LARGEST_ID if max is None else max)


class PrintableConverter(UnicodeConverter):
    """A path segment without control characters."""

    def __init__(self, map: Map, minlength: int = 1, maxlength: int | None = None, length: int | None = None) -> None:
        super().__init__(map, minlength=minlength, maxlength=maxlength, length=length)
        self.regex = self.regex.replace("[^/]", f"[^/{CONTROL_CHARACTERS}]")


class PrintablePathConverter(PathConverter):
    """Several path segments without control characters."""

    regex = f"[^/{CONTROL_CHARACTERS}][^{CONTROL_CHARACTERS}]*?"


def init_app(app: Flask) -> None:
    """Install the converters app-wide; called before any blueprint adds its rules."""
    app.url_map.converters.update(
        int=BoundedIntConverter, default=PrintableConverter, string=PrintableConverter, path=PrintablePathConverter
    )
