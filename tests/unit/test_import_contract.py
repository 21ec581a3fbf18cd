"""The layers of DESIGN.md §2 hold: the arrows run web → services → domain, never back up.

Every module under ``judging/`` is read (its source, with :mod:`ast`; nothing is imported), and each of
its imports, at the top, inside a function or under ``TYPE_CHECKING``, is checked against two rules:

- the domain (``judging/scoring/``, ``rubric.py``, ``workflow.py``, ``assignment.py``, ``file_types.py``)
  imports no web framework, no database layer and nothing of the layers above it;
- a service imports nothing of the web layer.

A failure names each offending import by file and line.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE_ROOT = Path(__file__).resolve().parents[2]
JUDGING = PACKAGE_ROOT / "judging"

DOMAIN = (
    "judging.scoring",
    "judging.rubric",
    "judging.workflow",
    "judging.assignment",
    "judging.file_types",
    "judging.conflicts",
    "judging.names_in_text",
    "judging.clean_copies",
    "judging.organization_places",
    "judging.vote_proof",
)
"""Pure modules: plain data in, plain data out (``judging.workflow`` is included once it exists)."""
FORBIDDEN_IN_DOMAIN = (
    "flask",
    "flask_*",
    "sqlalchemy",
    "judging.services",
    "judging.web",
    "judging.models",
    "judging.extensions",
)
SERVICES = ("judging.services",)
FORBIDDEN_IN_SERVICES = ("judging.web",)


@dataclass(frozen=True)
class Import:
    module: str
    """The module imported, absolute (``from judging import web`` imports ``judging.web``)."""
    line: int


def module_name(path: Path) -> str:
    """``judging/scoring/aggregate.py`` → ``judging.scoring.aggregate``; a package is its ``__init__``."""
    parts = list(path.relative_to(PACKAGE_ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(module: str, source: str, *, is_package: bool = False) -> list[Import]:
    """Every import in ``source``, anywhere in the module, with relative imports made absolute."""
    package = module if is_package else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [Import(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.append(Import(base, node.lineno))
            # ``from judging import web`` names a module too
            found += [Import(f"{base}.{alias.name}", node.lineno) for alias in node.names if alias.name != "*"]
    return found


def _matches(name: str, rule: str) -> bool:
    if rule.endswith("*"):
        return name.split(".")[0].startswith(rule[:-1])
    return name == rule or name.startswith(rule + ".")


def _in(module: str, layer: tuple[str, ...]) -> bool:
    return any(_matches(module, prefix) for prefix in layer)


def violations(path: str, module: str, source: str, *, is_package: bool = False) -> list[str]:
    """The imports of one module that break a rule, each as ``path:line: module imports name (rule)``."""
    if _in(module, DOMAIN):
        forbidden, layer = FORBIDDEN_IN_DOMAIN, "the domain"
    elif _in(module, SERVICES):
        forbidden, layer = FORBIDDEN_IN_SERVICES, "a service"
    else:
        return []
    found: dict[int, str] = {}  # one message per import statement: its first offending name
    for imported in imports_of(module, source, is_package=is_package):
        rule = next((rule for rule in forbidden if _matches(imported.module, rule)), None)
        if rule is not None and imported.line not in found:
            found[imported.line] = (
                f"{path}:{imported.line}: {module} imports {imported.module} ({layer} must not import {rule})"
            )
    return [found[line] for line in sorted(found)]


def test_every_module_keeps_to_its_layer() -> None:
    modules = sorted(JUDGING.rglob("*.py"))
    assert len(modules) > 30  # the walk found the package
    found = []
    for path in modules:
        found += violations(
            str(path.relative_to(PACKAGE_ROOT)),
            module_name(path),
            path.read_text(encoding="utf-8"),
            is_package=path.name == "__init__.py",
        )
    assert found == [], "imports against the layers of DESIGN.md §2:\n" + "\n".join(found)


def test_the_domain_is_where_the_contract_says() -> None:
    """A renamed domain module must not slip out of the check unnoticed."""
    checked = {module_name(path) for path in JUDGING.rglob("*.py") if _in(module_name(path), DOMAIN)}
    assert {
        "judging.rubric",
        "judging.assignment",
        "judging.file_types",
        "judging.workflow",
        "judging.conflicts",
        "judging.names_in_text",
        "judging.clean_copies",
        "judging.scoring.rules",
        "judging.scoring.ranking",
        "judging.scoring.explanation",
        "judging.scoring.votes",
        "judging.vote_proof",
    } <= checked


@pytest.mark.parametrize(
    ("module", "source", "line", "imported", "rule"),
    [
        ("judging.scoring.extra", "import numpy\n\nfrom flask import current_app\n", 3, "flask", "flask"),
        ("judging.rubric", "import flask_babel\n", 1, "flask_babel", "flask_*"),
        ("judging.assignment", "from sqlalchemy.orm import Session\n", 1, "sqlalchemy.orm", "sqlalchemy"),
        (
            "judging.file_types",
            "def f():\n    from judging.models import Entry\n",
            2,
            "judging.models",
            "judging.models",
        ),
        ("judging.workflow", "from judging import extensions\n", 1, "judging.extensions", "judging.extensions"),
        (
            "judging.scoring.extra",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from judging.services import results\n",
            3,
            "judging.services",
            "judging.services",
        ),
        ("judging.scoring.extra", "from ..web import labels\n", 1, "judging.web", "judging.web"),
    ],
)
def test_a_domain_module_importing_an_upper_layer_is_named(
    module: str, source: str, line: int, imported: str, rule: str
) -> None:
    found = violations("x.py", module, source)
    assert found[0] == f"x.py:{line}: {module} imports {imported} (the domain must not import {rule})"


def test_a_service_importing_the_web_is_named() -> None:
    source = '"""A service."""\n\nfrom judging.models import Entry\nfrom judging.web.labels import phase_label\n'
    assert violations("judging/services/bad.py", "judging.services.bad", source) == [
        "judging/services/bad.py:4: judging.services.bad imports judging.web.labels (a service must not import "
        "judging.web)"
    ]


def test_allowed_imports_pass() -> None:
    domain = "import numpy as np\nimport pandas as pd\nfrom judging.rubric import Rubric\nfrom .awards import x\n"
    assert violations("judging/scoring/ok.py", "judging.scoring.ok", domain) == []
    service = "from flask_babel import gettext\nfrom sqlalchemy import select\nfrom judging.services import audit\n"
    assert violations("judging/services/ok.py", "judging.services.ok", service) == []
    assert violations("judging/web/ok.py", "judging.web.ok", "from judging.services import entries\n") == []
