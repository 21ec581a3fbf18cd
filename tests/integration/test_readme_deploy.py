"""The README's production steps, followed literally, give the Chinese interface by default."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from flask import Flask

from judging.extensions import db
from tests.conftest import ROOT, make_test_app

DEPLOY_SECTION = re.compile(r"^## Deploying.*?^```sh\n(.*?)^```", re.S | re.M)


def _readme_deploy_commands() -> list[str]:
    match = DEPLOY_SECTION.search((ROOT / "README.md").read_text(encoding="utf-8"))
    assert match, "README.md has no deployment commands"
    return [line.split("#", 1)[0].strip() for line in match.group(1).splitlines() if line.strip()]


def test_readme_catalogue_step_compiles_the_chinese_catalogue_and_the_site_speaks_chinese(
    database_url: str, tmp_path: Path
) -> None:
    # A fresh checkout: the tracked catalogue files only (the compiled .mo is not in git).
    tracked = subprocess.run(
        ["git", "ls-files", "judging/translations"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert not [name for name in tracked if name.endswith(".mo")], "a compiled catalogue is tracked"
    checkout = tmp_path / "checkout"
    for name in tracked:
        (checkout / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, checkout / name)
    (checkout / ".venv").symlink_to((ROOT / ".venv").resolve())
    compile_steps = [command for command in _readme_deploy_commands() if "pybabel compile" in command]
    assert len(compile_steps) == 1, compile_steps
    done = subprocess.run(["bash", "-c", compile_steps[0]], cwd=checkout, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    compiled = checkout / "judging" / "translations" / "zh" / "LC_MESSAGES" / "messages.mo"
    assert compiled.exists(), done.stdout + done.stderr
    app: Flask = make_test_app(
        database_url, tmp_path, BABEL_TRANSLATION_DIRECTORIES=str(checkout / "judging" / "translations")
    )
    with app.app_context():
        db.create_all()
    try:
        page = app.test_client().get("/login").get_data(as_text=True)
        assert '<html lang="zh-CN">' in page
        assert "登录" in page and "Log in" not in page
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
