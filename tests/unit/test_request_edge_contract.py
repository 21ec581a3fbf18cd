"""The web layer keeps one request edge (issue 13): only ``judging/web/actions.py`` commits, and no view
answers a missing object by itself (the lookups of ``judging/web/lookups.py`` raise NotFound, and the
application's handler answers 404). Read from the sources with :mod:`ast`; a failure names file and line."""

from __future__ import annotations

import ast
from pathlib import Path

WEB = Path(__file__).resolve().parents[2] / "judging" / "web"
COMMITTING_MODULE = "actions.py"


def commits(source: str) -> list[int]:
    """Lines that call ``<anything>.commit()``."""
    return [
        node.lineno
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "commit"
    ]


def own_404s(source: str) -> list[int]:
    """Lines that answer 404 themselves: ``abort(404)`` or a ``*_or_404`` helper."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "abort":
            if node.args and isinstance(node.args[0], ast.Constant) and node.args[0].value == 404:
                found.append(node.lineno)
        if isinstance(node, ast.FunctionDef) and node.name.endswith("_or_404"):
            found.append(node.lineno)
    return found


def test_only_the_request_edge_commits() -> None:
    found = [
        f"judging/web/{path.name}:{line}"
        for path in sorted(WEB.glob("*.py"))
        if path.name != COMMITTING_MODULE
        for line in commits(path.read_text(encoding="utf-8"))
    ]
    assert found == [], "views commit outside judging.web.actions.attempt: " + ", ".join(found)


def test_no_view_answers_a_missing_object_itself() -> None:
    found = [
        f"judging/web/{path.name}:{line}"
        for path in sorted(WEB.glob("*.py"))
        for line in own_404s(path.read_text(encoding="utf-8"))
    ]
    assert found == [], "404s outside judging.web.lookups and the NotFound handler: " + ", ".join(found)


def test_the_checks_see_what_they_forbid() -> None:
    source = "def view():\n    db.session.commit()\n\n\ndef _entry_or_404(x):\n    abort(404)\n    abort(400)\n"
    assert commits(source) == [2]
    assert sorted(own_404s(source)) == [5, 6]
