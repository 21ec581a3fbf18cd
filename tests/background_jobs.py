"""What the tests of background jobs share: a real ``flask worker`` that empties the queue, the jobs in the
order they were made, and a GET whose streamed answer is read and closed."""

from __future__ import annotations

import os
import subprocess
import sys

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from judging.extensions import db
from judging.models import BackgroundJob
from tests.conftest import ROOT


def worker_env(app: Flask) -> dict[str, str]:
    """The environment of a ``flask worker`` configured as ``app`` (its database, keys, files, queue and
    heartbeat)."""
    return {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": app.config["SECRET_KEY"],
        "AUDIT_KEY": app.config["AUDIT_KEY"],
        "UPLOAD_FOLDER": app.config["UPLOAD_FOLDER"],
        "PUBLIC_BASE_URL": "http://judging.test",
        "JOB_QUEUE_URL": app.config["JOB_QUEUE_URL"],
        "JOB_HEARTBEAT_SECONDS": str(app.config["JOB_HEARTBEAT_SECONDS"]),
        "FLASK_APP": "app.py",
    }


def run_worker(app: Flask) -> subprocess.CompletedProcess[str]:
    """``flask worker --burst`` in its own process, configured as ``app``: it runs every queued job, then
    exits, which must be with 0."""
    worker = subprocess.run(
        [sys.executable, "-m", "flask", "worker", "--burst"],
        cwd=ROOT,
        env=worker_env(app),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert worker.returncode == 0, worker.stderr
    return worker


def all_jobs() -> list[BackgroundJob]:
    """Every job as the database has it now (in an app context), oldest first."""
    db.session.expire_all()
    return list(db.session.scalars(select(BackgroundJob).order_by(BackgroundJob.id)))


def read_get(client: FlaskClient, url: str) -> TestResponse:
    """A GET whose body is read and closed (send_file streams it from storage)."""
    response = client.get(url)
    response.get_data()
    response.close()
    return response
