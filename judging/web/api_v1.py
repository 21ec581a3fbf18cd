"""The documented JSON API, ``/api/v1``: public cacheable reads, and organiser operations with a token.

Public reads (contests, editions, published award lists with their digests, certificate verification)
need no token and are served with strong ETags (304 on revalidation) and shared caching, like the
published pages. Organiser operations need ``Authorization: Bearer <token>`` (:mod:`api_access`): a
``read`` token reads entries, score sheets and the results preview; a ``write`` token also imports skills
part scores, checked exactly as the spreadsheet import is. Every list pages with ``limit`` (at most
:data:`api_schema.MAX_LIMIT`) and ``cursor``, and says where the next page is. The OpenAPI document is
generated from these routes (:func:`api_schema.openapi_document`) and served at ``/api/v1/openapi.json``,
with a readable page at ``/api/v1/docs``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import LazyString, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from pydantic import BaseModel

from judging.extensions import csrf, db, limiter
from judging.models import Certificate, Contest, Entry, ResultSnapshot, ScoreSheet, utcnow
from judging.models import EntryFile as EntryFileRow
from judging.result_words import missing_parts_text
from judging.services import (
    ServiceError,
    audit,
    certificates,
    contests,
    editions,
    entries,
    integrity,
    results,
    skills,
    snapshots,
)
from judging.services import sheets as sheet_service
from judging.services.table_import import ImportRefused
from judging.web import api_schema as schema
from judging.web import lookups
from judging.web.actions import attempt
from judging.web.api_access import ApiRefusal, current_token, token_required
from judging.web.api_schema import DEFAULT_LIMIT, MAX_LIMIT, PAGING, Operation, documented
from judging.web.permissions import public
from judging.web.published_pages import SHARED, conditional, recent

bp = Blueprint("api_v1", __name__, url_prefix=schema.API_PREFIX)
csrf.exempt(bp)  # no cookie is accepted by an operation that writes: a token is, which a forged page cannot send

T = TypeVar("T")
K = TypeVar("K")
MAX_CURSOR = 200
"""The longest cursor this API gives (a code or an id, encoded): a longer one is refused unread."""
MAX_IMPORT_BYTES = 4 * 2**20
"""The largest part-score import body: some 40,000 rows, far beyond a competition's roster."""
IMPORT_SOURCE = "JSON"
"""How the part-score import names the request in its messages (``JSON, row 3``)."""


def _rate_limit() -> str:
    return current_app.config["API_RATE_LIMIT"]


# Counted per client address (the limiter's key), whatever the Authorization header says: keying on the
# presented token would give every made-up token a fresh allowance. One allowance for the whole API.
limiter.shared_limit(_rate_limit, scope="api")(bp)


# --- answers ---------------------------------------------------------------------------------------------


def _moment(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _json(model: BaseModel, status: int = 200) -> Response:
    response = Response(model.model_dump_json(), status=status, mimetype="application/json")
    response.vary.add("Accept-Language")
    return response


def _public_json(model: BaseModel) -> Response:
    """A public answer: a strong ETag of its exact body, 304 when the caller holds it, shared caching."""
    return _public_body(model.model_dump_json().encode("utf-8"))


def _public_body(body: bytes) -> Response:
    etag = hashlib.sha256(body).hexdigest()
    response = Response(status=304) if etag in request.if_none_match else Response(body, mimetype="application/json")
    response.set_etag(etag)
    response.headers["Cache-Control"] = SHARED
    response.vary.add("Accept-Language")
    response.vary.add("Cookie")  # a browser's chosen language rides in its session
    return response


def _page_request(read: Callable[[str], K | None]) -> tuple[K | None, int]:
    """The requested page as (where it starts, limit): ``read`` turns the cursor's text into its start
    (None when it is not one this API gives); no cursor, the first page. A malformed limit or cursor is
    refused with 400."""
    problems: dict[str, list[str]] = {}
    limit_text = request.args.get("limit", str(DEFAULT_LIMIT))
    cursor_text = request.args.get("cursor")
    limit = int(limit_text) if limit_text.isdigit() else 0
    if not 1 <= limit <= MAX_LIMIT:
        problems["limit"] = [_("The limit must be a whole number from 1 to %(max)d.", max=MAX_LIMIT)]
    start = read(cursor_text) if cursor_text is not None and len(cursor_text) <= MAX_CURSOR else None
    if cursor_text is not None and start is None:
        problems["cursor"] = [_("The cursor is not one this API gave.")]
    if problems:
        raise ApiRefusal(400, _("The paging parameters are not valid."), fields=problems)
    return start, limit


def _page(cursor: str | None, limit: int) -> schema.Page:
    """The page's paging: where the next one is, when one follows (``cursor``)."""
    if cursor is None:
        return schema.Page(limit=limit, next_cursor=None, next=None)
    query = {**request.args.to_dict(), "cursor": cursor, "limit": str(limit)}
    return schema.Page(limit=limit, next_cursor=cursor, next=f"{request.path}?{urlencode(query)}")


def _offset(text: str) -> int | None:
    return int(text) if text.isdigit() else None


def _window(items: Sequence[Any]) -> tuple[list[Any], schema.Page]:
    """One page of a short list held whole (contests, series, results of a contest): its cursor is the
    position of the page's first item."""
    offset, limit = _page_request(_offset)
    start = offset or 0
    more = len(items) > start + limit
    return list(items[start : start + limit]), _page(str(start + limit) if more else None, limit)


def _contest(contest: Contest) -> schema.Contest:
    return schema.Contest(
        slug=contest.slug,
        title=contest.title,
        series=contest.series or contest.slug,
        edition=contest.edition,
        kind=contest.kind,
        ceremony=contest.ceremony,
        phase=contest.phase.value,
        phase_label=contests.phase_label(contest.phase),
        submission_deadline=_moment(contest.submission_deadline),
        review_deadline=_moment(contest.review_deadline),
        publicity_ends_at=_moment(contest.publicity_ends_at),
    )


def _result(snapshot: ResultSnapshot) -> schema.ResultSummary:
    return schema.ResultSummary(
        number=snapshot.number,
        status=snapshot.status.value,
        digest=snapshot.digest,
        frozen_at=snapshot.frozen_at.isoformat(),
        published_at=_moment(snapshot.published_at),
        publicity_ends_at=snapshot.publicity_ends_at.isoformat(),
        corrects=snapshot.corrects.number if snapshot.corrects else None,
    )


# --- public ----------------------------------------------------------------------------------------------

PUBLIC = "public"
ORGANISER = "organiser"


def _public_list(summary: str | LazyString, answer: type[BaseModel]) -> Operation:
    """A public list: no token, cacheable, read page by page (a malformed page is refused with 400)."""
    return Operation(summary, answer, PUBLIC, query=PAGING, cacheable=True, errors=(400,))


def _organiser_list(summary: str | LazyString, answer: type[BaseModel]) -> Operation:
    """An organiser's list: a ``read`` token, read page by page (a malformed page is refused with 400)."""
    return Operation(summary, answer, ORGANISER, scope="read", query=PAGING, errors=(400,))


@bp.get("/contests")
@documented(_public_list(_l("Contests that are not archived, with their phase and deadlines"), schema.ContestList))
@public
def contest_list() -> ResponseReturnValue:
    shown, page = _window(contests.public_contests(db.session))
    return _public_json(schema.ContestList(items=[_contest(contest) for contest in shown], page=page))


@bp.get("/contests/<slug>")
@documented(Operation(_l("One contest"), schema.Contest, PUBLIC, cacheable=True))
@public
def contest_one(slug: str) -> ResponseReturnValue:
    return _public_json(_contest(lookups.contest_for_public(slug)))


@bp.get("/series")
@documented(_public_list(_l("Series and their editions, newest first"), schema.SeriesList))
@public
def series_list() -> ResponseReturnValue:
    shown, page = _window(editions.series_of(contests.public_contests(db.session)))
    items = [
        schema.Series(
            key=series.key,
            editions=[
                schema.Edition(slug=c.slug, title=c.title, edition=c.edition, phase=c.phase.value)
                for c in series.editions
            ],
        )
        for series in shown
    ]
    return _public_json(schema.SeriesList(items=items, page=page))


def _public_snapshots(contest: Contest) -> list[ResultSnapshot]:
    return [
        snapshot
        for snapshot in snapshots.snapshots_of(db.session, contest)
        if snapshot.status.value in ("frozen", "published", "superseded")
    ]


@bp.get("/contests/<slug>/results")
@documented(_public_list(_l("A contest's results on notice or published, with their digests"), schema.ResultList))
@public
def result_list(slug: str) -> ResponseReturnValue:
    contest = lookups.contest_for_public(slug)
    shown, page = _window(_public_snapshots(contest))
    return _public_json(schema.ResultList(contest=contest.slug, items=[_result(s) for s in shown], page=page))


@bp.get("/contests/<slug>/results/<int:number>")
@documented(
    Operation(
        _l("A frozen or published award list and its digest (immutable: strong ETag, 304)"),
        schema.AwardList,
        PUBLIC,
        cacheable=True,
        errors=(409,),
    )
)
@public
@recent
def award_list(slug: str, number: int) -> ResponseReturnValue:
    contest = lookups.contest_for_public(slug)
    snapshot = lookups.snapshot_of(contest, number)
    if snapshot.status.value == "withdrawn":
        raise ApiRefusal(409, _("This result was withdrawn when review was reopened."), code="withdrawn")
    if not integrity.snapshot_vouched(db.session, snapshot, audit.current_seal().key):
        raise ApiRefusal(409, _("This result is not what was frozen: it is not shown."), code="unverified")

    def render() -> bytes:
        awards = [
            schema.Award(
                group=row.group,
                group_label=row.group_label,
                award=row.award,
                rank=row.rank,
                subject=row.subject,
                title=row.title,
                holder=row.holder,
                organization=row.organization,
                final_score=row.final_score,
                vote=_vote_part(row.vote),
            )
            for row in snapshots.award_rows(snapshots.payload_of(snapshot))
        ]
        answer = schema.AwardList(
            contest=contest.slug, title=contest.title, edition=contest.edition, result=_result(snapshot), awards=awards
        )
        return answer.model_dump_json().encode("utf-8")

    history = snapshots.snapshots_of(db.session, contest)
    parts = [
        "api-award-list",
        contest.id,
        contest.title,
        contest.edition,
        snapshot.number,
        snapshot.digest,
        snapshot.status,
        *(f"{other.number}:{other.status}" for other in history),
    ]
    response = conditional(parts, render, "application/json")
    response.vary.add("Accept-Language")
    return response


def _vote_part(part: snapshots.VotePart | None) -> schema.VotePart | None:
    if part is None:
        return None
    return schema.VotePart(
        expert_score=part.expert_score,
        expert_rank=part.expert_rank,
        votes=part.votes,
        voided=part.voided,
        voided_reasons=part.voided_reasons,
        vote_points=part.vote_points,
        combined=part.combined,
    )


@bp.get("/certificates/<code>")
@documented(
    Operation(
        _l("Verify a certificate by its serial number or verification code"),
        schema.CertificateCheck,
        PUBLIC,
        cacheable=True,
    )
)
@public
def certificate(code: str) -> ResponseReturnValue:
    found: Certificate = certificates.verify_certificate(db.session, code)
    snapshot = found.snapshot
    vouched = integrity.snapshot_vouched(db.session, snapshot, audit.current_seal().key)
    intact = vouched and integrity.certificate_in_payload(found, snapshots.payload_of(snapshot))
    corrected_by = snapshots.correction_of(db.session, snapshot)
    return _public_json(
        schema.CertificateCheck(
            serial=found.serial,
            code=found.code,
            kind=found.kind,
            holder=found.holder,
            organization=found.organization,
            award=found.award,
            subject=found.subject,
            work_title=found.work_title,
            issued_at=found.issued_at.isoformat(),
            contest=snapshot.contest.slug,
            result_number=snapshot.number,
            result_status=snapshot.status.value,
            result_digest=snapshot.digest,
            intact=intact,
            corrected_by=corrected_by.number if corrected_by else None,
        )
    )


# --- organisers ------------------------------------------------------------------------------------------


def _entry_summary(entry: Entry) -> schema.EntrySummary:
    return schema.EntrySummary(
        id=entry.id,
        code=entry.code,
        title=entry.title,
        category=entry.category or "",
        status=entry.status.value,
        organization=entry.organization.name,
        submitted_at=_moment(entry.submitted_at),
    )


def _paged_rows(
    fetch: Callable[[K | None, int], list[T]], key: Callable[[T], K], read: Callable[[str], K | None]
) -> tuple[list[T], schema.Page]:
    """One page of a list read from the database in the order of ``key``: its cursor names the key of the
    last row shown (opaque to clients), so the next page starts right after that row, whatever was added
    or removed meanwhile (an offset would repeat or skip rows then). One row more than asked tells
    whether another page follows."""
    after, limit = _page_request(read)
    rows = fetch(after, limit + 1)
    shown = rows[:limit]
    return shown, _page(_cursor_of(key(shown[-1])) if len(rows) > limit else None, limit)


def _cursor_of(key: object) -> str:
    return base64.urlsafe_b64encode(str(key).encode("utf-8")).decode("ascii").rstrip("=")


def _cursor_text(cursor: str) -> str | None:
    """The key a cursor of :func:`_cursor_of` names, or None when it is not one."""
    try:
        return base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None


def _code_after(cursor: str) -> str | None:
    return _cursor_text(cursor) or None


def _id_after(cursor: str) -> int | None:
    text = _cursor_text(cursor)
    return int(text) if text is not None and text.isdigit() and len(text) <= 12 else None


@bp.get("/organizer/contests/<slug>/entries")
@documented(_organiser_list(_l("A contest's entries, by code, with the organisations behind them"), schema.EntryList))
@token_required("read")
def entry_list(slug: str) -> ResponseReturnValue:
    contest = lookups.contest_for_api(current_token(), slug)
    shown, page = _paged_rows(
        lambda after, limit: entries.entries_page(db.session, contest, after, limit),
        lambda entry: entry.code,
        _code_after,
    )
    return _json(schema.EntryList(contest=contest.slug, items=[_entry_summary(e) for e in shown], page=page))


def _file(row: EntryFileRow) -> schema.EntryFile:
    return schema.EntryFile(
        id=row.id,
        purpose=row.purpose,
        original_name=row.original_name,
        content_type=row.content_type,
        size_bytes=row.size_bytes,
        sha256=row.sha256,
    )


@bp.get("/organizer/entries/<int:entry_id>")
@documented(Operation(_l("One entry with its fields and files"), schema.EntryDetail, ORGANISER, scope="read"))
@token_required("read")
def entry_one(entry_id: int) -> ResponseReturnValue:
    entry = lookups.entry_for_api(current_token(), entry_id)
    summary = _entry_summary(entry).model_dump()
    return _json(
        schema.EntryDetail(
            **summary,
            contest=entry.contest.slug,
            summary=entry.summary,
            status_reason=entry.status_reason,
            fields=dict(entry.fields or {}),
            files=[_file(row) for row in entry.files],
        )
    )


def _sheet(sheet: ScoreSheet) -> schema.Sheet:
    return schema.Sheet(
        id=sheet.id,
        entry=sheet.assignment.entry.code,
        judge=sheet.assignment.judge.username,
        round=sheet.assignment.round_key,
        status=sheet.status.value,
        submitted_at=_moment(sheet.submitted_at),
        scores={score.criterion: format(Decimal(score.value), "f") for score in sheet.scores},
        checks={answer.check_key: answer.passed for answer in sheet.check_answers},
        comment=sheet.comment,
    )


@bp.get("/organizer/contests/<slug>/sheets")
@documented(
    _organiser_list(
        _l("A contest's score sheets with every score (drafts too, each with its status)"), schema.SheetList
    )
)
@token_required("read")
def sheet_list(slug: str) -> ResponseReturnValue:
    contest = lookups.contest_for_api(current_token(), slug)
    shown, page = _paged_rows(
        lambda after, limit: sheet_service.sheets_page(db.session, contest, after, limit),
        lambda sheet: sheet.id,
        _id_after,
    )
    return _json(schema.SheetList(contest=contest.slug, items=[_sheet(s) for s in shown], page=page))


@bp.get("/organizer/contests/<slug>/results-preview")
@documented(
    Operation(
        _l("The results as they stand, as the organiser's results page computes them"),
        schema.ResultsPreview,
        ORGANISER,
        scope="read",
        errors=(409,),
    )
)
@token_required("read")
def results_preview(slug: str) -> ResponseReturnValue:
    contest = lookups.contest_for_api(current_token(), slug)
    if contest.kind == "skills":
        return _json(_skills_preview(contest))
    try:
        computed = results.compute_results(db.session, contest)
    except ServiceError as refusal:
        raise ApiRefusal(409, refusal.message) from None
    ranking: list[schema.RankedEntry] = []
    not_ranked: dict[str, list[str]] = {}
    if computed.ranking is not None:
        for row in computed.ranking.table.to_dict("records"):
            line = computed.entries.get(str(row["entry"]))
            ranking.append(
                schema.RankedEntry(
                    rank=int(row["rank"]) if row["rank"] is not None else None,
                    entry=str(row["entry"]),
                    title=line.title if line else "",
                    organization=line.organization if line else "",
                    category=str(row.get("category") or ""),
                    final_score=format(row["final_score"], "f") if row["final_score"] is not None else None,
                    award=str(row.get("award") or ""),
                    n_sheets=int(row["n_sheets"]),
                )
            )
        for entry in computed.ranking.excluded["entry"].tolist():
            not_ranked[str(entry)] = computed.reasons(str(entry))
    for entry in computed.unscored:
        not_ranked[entry] = computed.reasons(entry)
    return _json(
        schema.ResultsPreview(
            contest=contest.slug,
            computed_at=computed.computed_at.isoformat(),
            sheets_counted=computed.sheets_counted,
            sheets_not_counted=computed.sheets_not_counted,
            kind="work",
            ranking=ranking,
            contestants=[],
            not_ranked=not_ranked,
            problems=list(computed.problems),
        )
    )


def _exact_text(value: object) -> str | None:
    """A score of the engine's table as an exact decimal string; None for a blank."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _skills_preview(contest: Contest) -> schema.ResultsPreview:
    """A skills competition's ranking as the organiser's skills results page computes it."""
    rubric = contests.current_rubric(contest)
    ranked = skills.skills_results(db.session, contest)
    part_labels = {part.key: part.label for part in rubric.parts}
    rows = [
        schema.RankedContestant(
            rank=int(row["rank"]) if row["rank"] is not None else None,
            number=str(row["contestant"]),
            name=str(row["name"]),
            organization=str(row["organization"]),
            final_score=_exact_text(row["final_score"]),
            award=str(row.get("award") or ""),
            parts={part.key: _exact_text(row.get(part.key)) for part in rubric.parts},
            time_used=int(row["time_used"]) if _exact_text(row.get("time_used")) is not None else None,
        )
        for row in ranked.table.to_dict("records")
    ]
    not_ranked = {
        str(row["contestant"]): [missing_parts_text(row["reasons"], part_labels)]
        for row in ranked.excluded.to_dict("records")
    }
    return schema.ResultsPreview(
        contest=contest.slug,
        kind="skills",
        computed_at=utcnow().isoformat(),
        sheets_counted=0,
        sheets_not_counted=0,
        ranking=[],
        contestants=rows,
        not_ranked=not_ranked,
        problems=[],
    )


def _import_body() -> tuple[list[dict[str, object]], bool]:
    """The posted rows, numbers kept exact (parsed as decimals, never floats); a body of the wrong shape
    is refused with 400, naming what is wrong."""
    if request.content_length is not None and request.content_length > MAX_IMPORT_BYTES:
        raise ApiRefusal(413, _("Send at most %(mb)d MB of rows at a time.", mb=MAX_IMPORT_BYTES // 2**20))
    raw = request.stream.read(MAX_IMPORT_BYTES + 1)  # bounded even without a Content-Length
    if len(raw) > MAX_IMPORT_BYTES:
        raise ApiRefusal(413, _("Send at most %(mb)d MB of rows at a time.", mb=MAX_IMPORT_BYTES // 2**20))
    try:
        body = json.loads(raw or b"null", parse_float=Decimal)
    except (ValueError, UnicodeDecodeError):
        raise ApiRefusal(400, _("The body is not JSON.")) from None
    rows = body.get("rows") if isinstance(body, dict) else None
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise ApiRefusal(
            400, _("Send a JSON object whose rows is a list of objects."), fields={"rows": [_("A list of objects.")]}
        )
    problems = [
        _("Row %(row)d: %(key)s must be text or a number.", row=position, key=key)
        for position, row in enumerate(rows, start=1)
        for key, value in row.items()
        if value is not None and (isinstance(value, bool) or not isinstance(value, str | int | Decimal))
    ]
    dry_run = body.get("dry_run", False)
    if not isinstance(dry_run, bool):
        problems.append(_("dry_run must be true or false."))
    if problems:
        raise ApiRefusal(400, problems[0], fields={"rows": problems})
    return rows, dry_run


@bp.post("/organizer/contests/<slug>/part-scores")
@documented(
    Operation(
        _l("Import skills part scores: validated as the spreadsheet import, all or nothing"),
        schema.PartScoreOutcome,
        ORGANISER,
        scope="write",
        body=schema.PartScoreImport,
        errors=(409, 413, 422),
    )
)
@token_required("write")
def import_part_scores(slug: str) -> ResponseReturnValue:
    token = current_token()
    contest = lookups.contest_for_api(token, slug)
    if contest.kind != "skills":
        raise ApiRefusal(409, _("This contest is not a skills competition: it has no part scores."))
    rows, dry_run = _import_body()
    if dry_run:
        outcome = attempt(
            lambda: skills.preview_part_score_rows(db.session, contest, rows, IMPORT_SOURCE), announce=False
        )
    else:
        outcome = attempt(
            lambda: skills.import_part_score_rows(db.session, token.user, contest, rows, IMPORT_SOURCE),
            announce=False,
        )
    if not outcome.ok or outcome.value is None:
        refusal = outcome.refusal
        if isinstance(refusal, ImportRefused):
            raise ApiRefusal(422, refusal.message, fields={"rows": refusal.problems})
        raise ApiRefusal(409, refusal.message if refusal else _("Refused."))
    preview = outcome.value
    return _json(
        schema.PartScoreOutcome(
            written=not dry_run,
            changes=[
                schema.PartScoreChange(
                    number=change.number,
                    name=change.name,
                    part=change.part,
                    old=format(change.old, "f") if change.old is not None else None,
                    new=format(change.new, "f"),
                    time_used=change.time_used,
                )
                for change in preview.changes
            ],
            unchanged=preview.unchanged,
        )
    )


# --- the document ----------------------------------------------------------------------------------------


@bp.get("/openapi.json")
@documented(Operation(_l("This OpenAPI document"), None, "meta", cacheable=True))
@public
def openapi() -> ResponseReturnValue:
    return _public_body(_document_body())


def _document_body() -> bytes:
    """The document in the caller's language, built once per process and language (35 ms a build): the
    routes it is read from do not change while the app runs."""
    built: dict[str, bytes] = current_app.extensions.setdefault("api_v1_documents", {})
    language = str(get_locale())
    if language not in built:
        document = schema.openapi_document(current_app)
        built[language] = json.dumps(document, ensure_ascii=False, sort_keys=True).encode("utf-8")
    return built[language]


@bp.get("/docs")
@documented(Operation(_l("A readable page of the operations"), None, "meta", hidden=True))
@public
def docs() -> ResponseReturnValue:
    return render_template("api/docs.html", document=json.loads(_document_body()))
