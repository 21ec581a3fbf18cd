"""The background worker: ``flask worker`` takes jobs (:mod:`judging.services.jobs`) from the RQ queue on
``JOB_QUEUE_URL`` and runs each in this app, one at a time, in the worker's own process (RQ's SimpleWorker:
no fork, so the database pool and the app are made once). Start as many workers as there are cores to spare.
"""

from __future__ import annotations

import os

from flask import current_app

from judging.extensions import db
from judging.services import jobs, parts_uploads  # noqa: F401  (parts_uploads registers its job's runner)
from judging.storage import storage_from_config


def perform(job_id: int) -> None:
    """One job, in a clean session (the RQ entry point named by :func:`judging.services.jobs.start`).

    Documents print links (certificates' verification URLs): they are built as in a request to the site's
    public address, which production requires anyway (:mod:`judging.links`).
    """
    base = current_app.config.get("PUBLIC_BASE_URL") or "http://localhost/"
    try:
        with current_app.test_request_context("/", base_url=base):
            jobs.run(db.session, job_id, storage_from_config(current_app.config))
    finally:
        db.session.close()  # the next job starts from the database, not from this one's objects


def work(burst: bool = False, niceness: int = 0) -> None:
    """Serve the queue until stopped (or, with ``burst``, until it is empty); needs an app context.

    ``niceness`` lowers the process's CPU priority (``nice``): a job renders PDFs for minutes on a core the
    web's workers share, and a page someone waits for should not wait behind it (bench/certificates.py)."""
    import redis
    from rq import Queue, SimpleWorker

    url = current_app.config.get("JOB_QUEUE_URL") or ""
    if not url:
        raise RuntimeError("JOB_QUEUE_URL is not set: without a queue, jobs run inside the request that asks.")
    if niceness:
        os.nice(niceness)
    connection = redis.Redis.from_url(url)
    worker = SimpleWorker([Queue(jobs.QUEUE_NAME, connection=connection)], connection=connection)
    worker.work(burst=burst, with_scheduler=False)
