"""Tamper evidence against an insider who can write the database (raw SQL) but cannot read the audit key.

Each case tampers as such an insider would and expects ``flask audit verify`` to exit 1 naming exactly
what it found; an intact instance, and one restored from a backup with the same key, exit 0. The public
award list and /verify must then refuse to vouch for what was forged. Both databases (the ``app`` fixture).
"""

from __future__ import annotations

import io
import json
import os
import tarfile
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import stamp
from sqlalchemy import Row, select, text, update

from judging.config import settings_from_environment
from judging.extensions import db
from judging.models import (
    Assignment,
    AuditEvent,
    Certificate,
    Contest,
    Entry,
    ResultSnapshot,
    Score,
    ScoreSheet,
    User,
    utcnow,
)
from judging.services import audit, publication, snapshots
from tests.conftest import ROOT, make_test_app
from tests.scenarios import recuse_expert5, seed_review_contest

FORGED = "伪造单位"


def _verify(app: Flask) -> tuple[int, list[str]]:
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    return result.exit_code, result.output.splitlines()


def _head() -> audit.ChainHead:
    return audit.chain_head(db.session)


def _event(action: str, object_id: str | None = None) -> Row:
    """An event's seq, prev_hash and data, as plain values that outlive the app context."""
    query = select(AuditEvent.seq, AuditEvent.prev_hash, AuditEvent.data).where(AuditEvent.action == action)
    if object_id is not None:
        query = query.where(AuditEvent.object_id == object_id)
    return db.session.execute(query).one()


def _sheet(code: str, judge: str) -> Row:
    return db.session.execute(
        select(ScoreSheet.id)
        .join(Assignment)
        .join(Entry)
        .join(User, Assignment.judge_id == User.id)
        .where(Entry.code == code, User.username == judge)
    ).one()


def _rechain(start: int, *, version: int) -> None:
    """Recompute every hash from event ``start`` on with the app's own (unkeyed) hash function, as an
    insider with the code but not the key would, and write them back with plain SQL."""
    events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
    prev = audit.GENESIS_HASH
    rows = []
    for event in events:
        if event.seq >= start:
            event.hash_version = version
            fields = audit._hashed_fields(event)
            rows.append({"seq": event.seq, "prev": prev, "hash": audit.event_hash(prev, fields), "v": version})
            prev = rows[-1]["hash"]
        else:
            prev = event.hash
    db.session.rollback()
    for row in rows:
        db.session.execute(
            text("UPDATE audit_event SET prev_hash = :prev, hash = :hash, hash_version = :v WHERE seq = :seq"), row
        )
    db.session.commit()


@pytest.fixture
def reviewed(app: Flask, users: dict[str, int], short_video: Path) -> dict[str, str]:
    """The micro-video contest in review: five entries, four judges' submitted sheets (expert5 recused)."""
    with app.app_context():
        codes = seed_review_contest(app, short_video)
        recuse_expert5()
    return codes


@pytest.fixture
def published(app: Flask, reviewed: dict[str, str]) -> dict[str, str]:
    """The same contest frozen, its notice over, and published with certificates."""
    with app.app_context():
        organizer = db.session.scalar(select(User).where(User.username == "organizer"))
        contest = db.session.scalar(select(Contest).where(Contest.slug == "micro-video"))
        snapshot = publication.freeze(db.session, organizer, contest)
        db.session.commit()
        snapshot.publicity_ends_at = utcnow() - timedelta(minutes=1)
        publication.publish(db.session, organizer, snapshot)
        db.session.commit()
    return reviewed


def test_an_intact_instance_verifies_and_its_head_is_kept_outside_the_database(
    app: Flask, published: dict[str, str]
) -> None:
    with app.app_context():
        head = _head()
        sheets = db.session.query(ScoreSheet).count()
        certificates = db.session.query(Certificate).count()
        snapshot = db.session.scalar(select(ResultSnapshot))
        freeze = _event("results.freeze")
        publish = _event("results.publish")
        # The payload records the head before its own freeze event; the publication the head before its event.
        assert snapshots.payload_of(snapshot)["audit_head"] == {"count": freeze.seq - 1, "hash": freeze.prev_hash}
        assert (snapshot.published_chain_count, snapshot.published_chain_hash) == (publish.seq - 1, publish.prev_hash)
        assert publish.seq == head.count and {e.hash_version for e in db.session.scalars(select(AuditEvent))} == {2}
        seal = audit.current_seal()
    assert audit.read_head(seal) == head
    assert seal.head_file == Path(app.instance_path) / "audit_head"
    assert (sheets, certificates) == (21, 4)
    assert _verify(app) == (
        0,
        [
            "audit chain intact.",
            f"{head.count} events; 21 score sheets, 1 results and 4 certificates agree with the log.",
        ],
    )
    page = app.test_client().get("/results/micro-video").get_data(as_text=True)
    assert (
        f'data-chain-head="frozen">共 {freeze.seq - 1} 条事件，最后一条的哈希为 <code>{freeze.prev_hash}</code>' in page
    )
    assert f'data-chain-head="published">共 {publish.seq - 1} 条事件' in page


def test_deleting_the_newest_events_is_named(app: Flask, reviewed: dict[str, str]) -> None:
    with app.app_context():
        head = _head()
        db.session.execute(text("DELETE FROM audit_event WHERE seq > :keep"), {"keep": head.count - 2})
        db.session.commit()
    assert _verify(app) == (
        1,
        [
            f"the newest audit events were deleted: the head recorded outside the database is event "
            f"{head.count} ({head.hash[:16]}…), the chain ends at event {head.count - 2}"
        ],
    )


def test_deleting_the_newest_events_after_the_last_freeze_is_named(app: Flask, published: dict[str, str]) -> None:
    with app.app_context():
        freeze = _event("results.freeze")
        head = _head()
        assert head.count > freeze.seq
        db.session.execute(text("DELETE FROM audit_event WHERE seq > :seq"), {"seq": freeze.seq})
        db.session.commit()
    assert _verify(app) == (
        1,
        [
            f"the newest audit events were deleted: the head recorded outside the database is event "
            f"{head.count} ({head.hash[:16]}…), the chain ends at event {freeze.seq}",
        ],
    )


def test_an_edited_score_row_is_named(app: Flask, reviewed: dict[str, str]) -> None:
    with app.app_context():
        sheet = _sheet(reviewed["A"], "expert1")
        db.session.execute(
            text("UPDATE score SET value = 40 WHERE sheet_id = :sheet AND criterion = 'content'"), {"sheet": sheet.id}
        )
        db.session.execute(text("DELETE FROM check_answer WHERE sheet_id = :sheet"), {"sheet": sheet.id})
        db.session.commit()
    assert _verify(app) == (
        1,
        [
            f"score sheet {sheet.id} ({reviewed['A']}, expert1): score content is 40.00 in the score table, "
            f"the audit log says 38.00",
            f"score sheet {sheet.id} ({reviewed['A']}, expert1): check duration is None in the database, "
            f"the audit log says True",
            f"score sheet {sheet.id} ({reviewed['A']}, expert1): check ip_characters is None in the database, "
            f"the audit log says True",
        ],
    )


def test_a_score_inserted_without_an_event_and_a_deleted_sheet_are_named(app: Flask, reviewed: dict[str, str]) -> None:
    with app.app_context():
        gone = _sheet(reviewed["B"], "expert4")
        db.session.execute(text("DELETE FROM score_sheet WHERE id = :id"), {"id": gone.id})
        extra = _sheet(reviewed["C"], "expert2")
        db.session.execute(text("DELETE FROM score WHERE sheet_id = :id AND criterion = 'form'"), {"id": extra.id})
        db.session.commit()
        assert db.session.scalar(select(Score.id).where(Score.sheet_id == gone.id)) is None  # cascaded
    code, lines = _verify(app)
    assert code == 1
    assert lines == [
        f"score sheet {extra.id} ({reviewed['C']}, expert2): score form is missing in the score table, "
        f"the audit log says 22.00",
        f"score sheet {gone.id}: in the audit log but not in the database (deleted)",
    ]


def test_rechaining_after_an_edit_with_the_apps_own_hash_function_is_named(
    app: Flask, reviewed: dict[str, str]
) -> None:
    """The insider edits a score and the event that recorded it, then recomputes the hashes with the
    service's own code, first keeping the events marked keyed, then marking every event unkeyed."""
    with app.app_context():
        sheet = _sheet(reviewed["D"], "expert3")
        event = _event("sheet.submit", str(sheet.id))
        data = dict(event.data, new=dict(event.data["new"], scores=dict(event.data["new"]["scores"], content="35.00")))
        db.session.execute(
            text("UPDATE score SET value = 35 WHERE sheet_id = :id AND criterion = 'content'"), {"id": sheet.id}
        )
        db.session.execute(update(AuditEvent.__table__).where(AuditEvent.seq == event.seq).values(data=data))
        db.session.commit()
        head = _head()
        _rechain(event.seq, version=audit.KEYED)
    assert _verify(app) == (
        1,
        [
            f"audit chain broken at event {event.seq}: its content does not match its hash",
            f"audit event {head.count} is not the head recorded outside the database ({head.hash[:16]}…): "
            f"the chain was rewritten",
        ],
    )
    with app.app_context():
        _rechain(1, version=audit.UNKEYED)  # the whole log made to look written before it was keyed
        assert audit.verify_chain(db.session) is None
    assert _verify(app) == (
        1,
        [
            f"audit event {head.count} is not the head recorded outside the database ({head.hash[:16]}…): "
            f"the chain was rewritten"
        ],
    )


def test_an_unkeyed_event_after_keyed_ones_is_named(app: Flask, reviewed: dict[str, str]) -> None:
    with app.app_context():
        head = _head()
        _rechain(head.count, version=audit.UNKEYED)
    code, lines = _verify(app)
    assert code == 1
    assert lines[0] == (
        f"audit chain broken at event {head.count}: it is unkeyed, after keyed events: it was not written by this "
        f"service"
    )


def test_a_published_payload_rewritten_with_its_digest_is_named_and_not_vouched_for(
    app: Flask, published: dict[str, str]
) -> None:
    with app.app_context():
        snapshot = db.session.scalar(select(ResultSnapshot))
        original = snapshot.digest
        certificate = db.session.scalar(select(Certificate).order_by(Certificate.id).limit(1))
        code = certificate.code
        payload = snapshots.payload_of(snapshot)
        first = next(row for row in payload["ranking"] if row["subject"] == certificate.subject)
        first["holder"] = first["organization"] = FORGED
        forged = snapshots.digest_of(payload)
        db.session.execute(
            text("UPDATE result_snapshot SET payload = :payload, digest = :digest WHERE id = :id"),
            {"payload": snapshots.canonical_bytes(payload).decode("utf-8"), "digest": forged, "id": snapshot.id},
        )
        db.session.execute(
            text("UPDATE certificate SET holder = :holder, organization = :holder WHERE id = :id"),
            {"holder": FORGED, "id": certificate.id},
        )
        db.session.commit()
        freeze = _event("results.freeze")
    assert _verify(app) == (
        1,
        [
            f"result micro-video No. 1: its digest {forged[:16]}… is not the one recorded when it was frozen "
            f"(audit event {freeze.seq}: {original[:16]}…)"
        ],
    )
    public = app.test_client()
    page = public.get("/results/micro-video")
    assert page.status_code == 409
    text_ = page.get_data(as_text=True)
    assert "第 1 号结果未通过完整性校验：其内容与冻结时记录的不一致。" in text_ and FORGED not in text_
    assert public.get("/results/micro-video/1/award-list.pdf").status_code == 409
    assert public.get("/results/micro-video/gallery").status_code == 409
    verified = public.get(f"/verify/{code}").get_data(as_text=True)
    assert "证书真实有效" not in verified
    assert "此证书所依据的结果未通过完整性校验，请联系主办方。" in verified and "data-integrity-failed" in verified


def test_a_payload_that_no_longer_matches_its_digest_is_named_and_refused(
    app: Flask, published: dict[str, str]
) -> None:
    with app.app_context():
        snapshot = db.session.scalar(select(ResultSnapshot))
        db.session.execute(
            text("UPDATE result_snapshot SET payload = replace(payload, '一等奖', '特等奖') WHERE id = :id"),
            {"id": snapshot.id},
        )
        db.session.commit()
        code = db.session.scalar(select(Certificate.code).order_by(Certificate.id).limit(1))
    exit_code, lines = _verify(app)
    assert exit_code == 1
    assert "result micro-video No. 1: its payload does not match its digest" in lines
    # The certificate of the first prize no longer matches the (rewritten) payload either.
    assert any(line.startswith("certificate ") and "is not an award of the result" in line for line in lines)
    public = app.test_client()
    assert public.get("/results/micro-video").status_code == 409
    assert "证书真实有效" not in public.get(f"/verify/{code}").get_data(as_text=True)


def test_a_forged_certificate_holder_is_named_and_not_vouched_for(app: Flask, published: dict[str, str]) -> None:
    with app.app_context():
        certificate = db.session.scalar(select(Certificate).order_by(Certificate.id).limit(1))
        db.session.execute(
            text("UPDATE certificate SET holder = :h WHERE id = :id"), {"h": FORGED, "id": certificate.id}
        )
        db.session.commit()
        serial, award, code = certificate.serial, certificate.award, certificate.code
        genuine = db.session.scalar(select(Certificate.code).where(Certificate.id != certificate.id).limit(1))
    assert _verify(app) == (
        1,
        [f"certificate {serial}: {FORGED} · {award} is not an award of the result it was issued with"],
    )
    public = app.test_client()
    forged_page = public.get(f"/verify/{code}").get_data(as_text=True)
    assert "证书真实有效" not in forged_page and "data-integrity-failed" in forged_page
    assert "证书真实有效" in public.get(f"/verify/{genuine}").get_data(as_text=True)
    assert public.get("/results/micro-video").status_code == 200  # the list itself is what was frozen


def test_a_snapshot_head_that_the_chain_does_not_have_is_named(app: Flask, published: dict[str, str]) -> None:
    with app.app_context():
        snapshot = db.session.scalar(select(ResultSnapshot))
        db.session.execute(
            text("UPDATE result_snapshot SET published_chain_hash = :h WHERE id = :id"),
            {"h": "f" * 64, "id": snapshot.id},
        )
        db.session.commit()
        count = snapshot.published_chain_count
    assert _verify(app) == (
        1,
        [
            f"result micro-video No. 1: the chain head recorded when it was published (event {count}, "
            f"{'f' * 16}…) is not in the audit chain"
        ],
    )


def test_a_head_file_that_is_missing_or_not_sealed_is_named(app: Flask, reviewed: dict[str, str]) -> None:
    with app.app_context():
        seal = audit.current_seal()
        head = _head()
    stored = json.loads(seal.head_file.read_text())
    seal.head_file.write_text(json.dumps(dict(stored, count=head.count + 5)))
    assert _verify(app) == (1, [f"{seal.head_file} is not sealed with this instance's audit key"])
    seal.head_file.unlink()
    assert _verify(app) == (1, [f"the chain's head is not recorded outside the database: {seal.head_file} is missing"])


def test_a_head_file_one_commit_behind_is_accepted_and_caught_up(app: Flask, reviewed: dict[str, str]) -> None:
    """A process stopped between its commit and writing the head leaves the file behind: the events after
    it are keyed, so verify accepts them; the next commit that appends moves the head on."""
    with app.app_context():
        seal = audit.current_seal()
        head = _head()
        previous = db.session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == head.count - 1))
        audit.write_head(seal, audit.ChainHead(head.count - 1, previous), replace=True)
    assert _verify(app)[0] == 0
    with app.app_context():
        audit.write_head(seal, audit.ChainHead(head.count - 2, "0" * 64))  # older than the file: ignored
        assert audit.read_head(seal) == audit.ChainHead(head.count - 1, previous)
        audit.record(db.session, None, "test.append")
        db.session.commit()
        assert audit.read_head(seal) == audit.ChainHead(head.count + 1, _head().hash)
        audit.record(db.session, None, "test.rolled_back")
        db.session.rollback()
        assert audit.read_head(seal).count == head.count + 1


def test_a_log_written_before_keying_is_anchored_by_a_keyed_event(app: Flask, reviewed: dict[str, str]) -> None:
    """An instance upgraded from the unkeyed log: its events verify as they are, the first keyed event
    (``flask init`` appends one) anchors them, and rewriting them afterwards breaks the link to it."""
    with app.app_context():
        _rechain(1, version=audit.UNKEYED)
        audit.current_seal().head_file.unlink()
    assert _verify(app)[0] == 0
    with app.app_context():
        anchor = audit.anchor_unkeyed_events(db.session)
        db.session.commit()
        assert anchor is not None and anchor.action == "audit.keyed" and anchor.hash_version == audit.KEYED
        anchor_seq, anchor_hash = anchor.seq, anchor.hash
        assert audit.anchor_unkeyed_events(db.session) is None  # already keyed
        db.session.execute(text("UPDATE audit_event SET actor_name = 'someone else' WHERE seq = 2"))
        db.session.commit()
        _rechain(1, version=audit.UNKEYED)  # rewrites every event, the keyed anchor included, as unkeyed
        db.session.execute(
            text("UPDATE audit_event SET hash_version = 2, prev_hash = :p, hash = :h WHERE seq = :s"),
            {
                "p": db.session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == anchor_seq - 1)),
                "h": anchor_hash,
                "s": anchor_seq,
            },
        )
        db.session.commit()
    code, lines = _verify(app)
    assert code == 1 and lines[0] == f"audit chain broken at event {anchor_seq}: its content does not match its hash"


def test_the_audit_key_is_generated_outside_the_database_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUDIT_KEY", raising=False)
    monkeypatch.delenv("AUDIT_HEAD_FILE", raising=False)
    first = settings_from_environment(tmp_path)
    key_file = tmp_path / "audit_key"
    assert key_file.read_text() == first["AUDIT_KEY"] and len(str(first["AUDIT_KEY"])) == 64
    assert os.stat(key_file).st_mode & 0o777 == 0o600
    assert settings_from_environment(tmp_path)["AUDIT_KEY"] == first["AUDIT_KEY"]
    assert first["AUDIT_KEY"] != first["SECRET_KEY"]
    assert first["AUDIT_HEAD_FILE"] == str(tmp_path / "audit_head")
    monkeypatch.setenv("AUDIT_KEY", "from-the-environment-0123")
    assert settings_from_environment(tmp_path)["AUDIT_KEY"] == "from-the-environment-0123"
    with pytest.raises(RuntimeError, match="AUDIT_KEY must be at least 16 characters"):
        make_test_app(f"sqlite:///{tmp_path / 'x.sqlite3'}", tmp_path, AUDIT_KEY="short")


def test_backup_and_restore_keep_verify_green_with_the_same_key_only(
    app: Flask, published: dict[str, str], tmp_path: Path
) -> None:
    with app.app_context():
        stamp(directory=str(ROOT / "migrations"))  # the fixture made the schema without Alembic
    archive = tmp_path / "backup.tar.gz"
    made = app.test_cli_runner().invoke(args=["backup", "--out", str(archive)])
    assert made.exit_code == 0, made.output
    with app.app_context():
        head = _head()
    assert f"audit chain head: event {head.count} {head.hash}." in made.output
    with tarfile.open(archive) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
        everything = b"".join(tar.extractfile(m).read() for m in tar.getmembers() if m.isfile())  # type: ignore[union-attr]
    assert manifest["audit_head"] == head.as_dict()
    assert app.config["AUDIT_KEY"].encode() not in everything  # the key never travels with the data

    stranger = make_test_app(
        f"sqlite:///{tmp_path / 'stranger.sqlite3'}", tmp_path / "stranger", AUDIT_KEY="another-instance-key-42"
    )
    refused = stranger.test_cli_runner().invoke(args=["restore", str(archive)])
    assert refused.exit_code == 1
    assert refused.output.splitlines()[-1] == (
        f"{archive}: the restored audit chain is broken at event 1: its content does not match its hash "
        f"(was this instance given the AUDIT_KEY of the instance the backup was made on?)"
    )
    with stranger.app_context():
        assert db.session.query(AuditEvent).count() == 0
        db.engine.dispose()

    target = make_test_app(f"sqlite:///{tmp_path / 'restored.sqlite3'}", tmp_path / "target")
    with target.app_context():
        seal = audit.current_seal()
    seal.head_file.parent.mkdir(parents=True, exist_ok=True)
    seal.head_file.write_text("left over from another database\n")
    restored = target.test_cli_runner().invoke(args=["restore", str(archive)])
    assert restored.exit_code == 0, restored.output
    assert audit.read_head(seal) == head
    assert _verify(target)[0] == 0
    with target.app_context():
        db.session.execute(text("DELETE FROM audit_event WHERE seq = :seq"), {"seq": head.count})
        db.session.commit()
    assert _verify(target)[1][0].startswith(
        f"the newest audit events were deleted: the head recorded outside the database is event {head.count}"
    )
    with target.app_context():
        db.engine.dispose()


def test_a_backup_whose_head_does_not_match_its_events_is_refused(
    app: Flask, reviewed: dict[str, str], tmp_path: Path
) -> None:
    with app.app_context():
        stamp(directory=str(ROOT / "migrations"))
    archive = tmp_path / "backup.tar.gz"
    assert app.test_cli_runner().invoke(args=["backup", "--out", str(archive)]).exit_code == 0
    with tarfile.open(archive) as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}  # type: ignore[union-attr]
    events = members["tables/audit_event.jsonl"].decode().splitlines()
    members["tables/audit_event.jsonl"] = ("\n".join(events[:-1]) + "\n").encode()  # the newest event dropped
    manifest = json.loads(members["manifest.json"])
    manifest["tables"]["audit_event"] -= 1
    members["manifest.json"] = json.dumps(manifest).encode()
    cut = tmp_path / "cut.tar.gz"
    with tarfile.open(cut, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    target = make_test_app(f"sqlite:///{tmp_path / 'restored.sqlite3'}", tmp_path / "target")
    refused = target.test_cli_runner().invoke(args=["restore", str(cut)])
    assert refused.exit_code == 1
    count = manifest["audit_head"]["count"]
    assert refused.output.splitlines()[-1] == (
        f"{cut}: the restored audit chain ends at event {count - 1}, the backup recorded event {count} as its head"
    )
    with target.app_context():
        assert db.session.query(AuditEvent).count() == 0
        db.engine.dispose()
