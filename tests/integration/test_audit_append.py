"""Two transactions appending to the audit chain at once: the second waits for the first and chains to it,
on SQLite as on PostgreSQL, even when the audit event is the second transaction's first write."""

from __future__ import annotations

import threading
import time

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from judging.extensions import db
from judging.models import AuditEvent
from judging.services import audit


def test_a_concurrent_append_waits_and_chains_to_the_first(app: Flask) -> None:
    with app.app_context():
        engine = db.engine
        before = db.session.scalar(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1))
        db.session.remove()
        first = Session(engine)
        first.scalar(select(AuditEvent.id).limit(1))  # a read first: the transaction holds no write lock yet
        audit.record(first, None, "test.first")
        outcome: dict[str, object] = {}

        def second_append() -> None:
            with app.app_context(), Session(engine) as second:
                second.scalar(select(AuditEvent.id).limit(1))
                try:
                    event = audit.record(second, None, "test.second")
                    second.commit()
                    outcome["seq"] = event.seq
                except Exception as error:  # the failure is what the test reports
                    second.rollback()
                    outcome["error"] = repr(error)

        thread = threading.Thread(target=second_append)
        thread.start()
        time.sleep(0.5)  # the second append is now waiting for the first transaction
        first.commit()
        first.close()
        thread.join(timeout=30)
        assert outcome == {"seq": before + 2}
        assert audit.verify_chain(db.session) is None
        actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq.desc()).limit(2)).all()
        assert actions == ["test.second", "test.first"]
