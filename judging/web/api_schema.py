"""The JSON API's answers as typed models, and its OpenAPI 3.1 document generated from the routes.

Every answer of ``/api/v1`` is built as one of the pydantic models below and dumped in JSON mode, so what
is sent is what the document describes. Scores are strings of exact decimals (``"87.25"``): no float ever
carries a score. Each view states its operation with :func:`documented` (summary, answer model, query
parameters, token scope, cacheability); :func:`openapi_document` walks the app's URL map, so a route under
``/api/v1`` without such a statement stops the document from being built (and the tests fail), and the
document lists exactly the operations that exist. The document itself is assembled with apispec.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from apispec import APISpec
from flask import Flask
from flask_babel import LazyString
from pydantic import BaseModel, ConfigDict, Field

F = TypeVar("F", bound=Callable[..., Any])
API_PREFIX = "/api/v1"
OPERATION_ATTRIBUTE = "api_operation"
MAX_LIMIT = 200
DEFAULT_LIMIT = 50


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorDetail(_Model):
    code: str = Field(description="Stable machine-readable code, e.g. not_found, invalid_token, insufficient_scope.")
    message: str = Field(description="What went wrong, in the caller's language (Accept-Language: zh default, en).")
    fields: dict[str, list[str]] = Field(description="Problems by field or input (e.g. rows), each in one line.")


class Error(_Model):
    error: ErrorDetail


class Page(_Model):
    limit: int
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null on the last page.")
    next: str | None = Field(description="The URL of the next page (same query, next cursor); null on the last.")


class Contest(_Model):
    slug: str
    title: str
    series: str
    edition: str
    kind: str
    ceremony: str
    phase: str
    phase_label: str
    submission_deadline: str | None
    review_deadline: str | None
    publicity_ends_at: str | None


class ContestList(_Model):
    items: list[Contest]
    page: Page


class Edition(_Model):
    slug: str
    title: str
    edition: str
    phase: str


class Series(_Model):
    key: str
    editions: list[Edition]


class SeriesList(_Model):
    items: list[Series]
    page: Page


class ResultSummary(_Model):
    number: int
    status: str
    digest: str = Field(description="sha256 of the frozen result's canonical payload, printed on every export.")
    frozen_at: str
    published_at: str | None
    publicity_ends_at: str
    corrects: int | None = Field(description="The number of the publication this one corrects.")


class ResultList(_Model):
    contest: str
    items: list[ResultSummary]
    page: Page


class VotePart(_Model):
    expert_score: str | None = Field(description="The experts' final score the combination rests on.")
    expert_rank: int | None = Field(description="The entry's rank in the experts' result.")
    votes: int = Field(description="Public votes counted.")
    voided: int = Field(description="Public votes voided by the organisers.")
    voided_reasons: dict[str, int] = Field(description="Why votes were voided: reason → how many.")
    vote_points: str = Field(description="The counted votes on the experts' points scale (exact).")
    combined: str = Field(description="expert_weight × expert_score + vote_weight × vote_points, rounded half up.")


class Award(_Model):
    group: str
    group_label: str
    award: str
    rank: int | None
    subject: str
    title: str
    holder: str
    organization: str
    final_score: str | None
    vote: VotePart | None = Field(
        default=None,
        description="With a public vote the award follows the combined score (final_score); these are its parts.",
    )


class AwardList(_Model):
    contest: str
    title: str
    edition: str
    result: ResultSummary
    awards: list[Award]


class CertificateCheck(_Model):
    serial: str
    code: str
    kind: str
    holder: str
    organization: str
    award: str
    subject: str
    work_title: str
    issued_at: str
    contest: str
    result_number: int
    result_status: str
    result_digest: str
    intact: bool = Field(description="The result is what was frozen and this certificate is one of its awards.")
    corrected_by: int | None


class EntrySummary(_Model):
    id: int
    code: str
    title: str
    category: str
    status: str
    organization: str
    submitted_at: str | None


class EntryList(_Model):
    contest: str
    items: list[EntrySummary]
    page: Page


class EntryFile(_Model):
    id: int
    purpose: str
    original_name: str
    content_type: str
    size_bytes: int
    sha256: str


class EntryDetail(EntrySummary):
    contest: str
    summary: str
    status_reason: str
    fields: dict[str, Any]
    files: list[EntryFile]


class Sheet(_Model):
    id: int
    entry: str
    judge: str
    round: str = Field(
        description='The judging round\'s key ([[rounds]]): a judge may have a sheet per round; "" without rounds.'
    )
    status: str
    submitted_at: str | None
    scores: dict[str, str] = Field(description="Criterion key → the score as an exact decimal string.")
    checks: dict[str, bool]
    comment: str


class SheetList(_Model):
    contest: str
    items: list[Sheet]
    page: Page


class RankedEntry(_Model):
    rank: int | None
    entry: str
    title: str
    organization: str
    category: str
    final_score: str | None
    award: str
    n_sheets: int


class RankedContestant(_Model):
    rank: int | None
    number: str
    name: str
    organization: str
    final_score: str | None
    award: str
    parts: dict[str, str | None] = Field(description="Part key → the contestant's score of it (exact decimal).")
    time_used: int | None


class ResultsPreview(_Model):
    contest: str
    kind: str = Field(description="work: judged entries, in ranking; skills: contestants, in contestants.")
    computed_at: str
    sheets_counted: int
    sheets_not_counted: int
    ranking: list[RankedEntry]
    contestants: list[RankedContestant]
    not_ranked: dict[str, list[str]] = Field(description="Entry code or contestant number → why not ranked.")
    problems: list[str]


class PartScoreRow(_Model):
    number: str | int = Field(description="The contestant's number.")
    part: str = Field(description="The part's key or label.")
    score: str | int | float = Field(description="0 to the part's maximum, at most two decimals (exact).")
    time_used: str | int | None = Field(default=None, description="Whole seconds, optional.")


class PartScoreImport(_Model):
    rows: list[PartScoreRow]
    dry_run: bool = Field(default=False, description="Validate and say what would change; write nothing.")


class PartScoreChange(_Model):
    number: str
    name: str
    part: str
    old: str | None
    new: str
    time_used: int | None


class PartScoreOutcome(_Model):
    written: bool
    changes: list[PartScoreChange]
    unchanged: int


MODELS: tuple[type[BaseModel], ...] = (
    Error,
    ContestList,
    Contest,
    SeriesList,
    ResultList,
    AwardList,
    CertificateCheck,
    EntryList,
    EntryDetail,
    SheetList,
    ResultsPreview,
    PartScoreImport,
    PartScoreOutcome,
)


@dataclass(frozen=True)
class Query:
    name: str
    description: str
    schema: dict[str, Any]


PAGING = (
    Query("limit", f"How many items (1–{MAX_LIMIT}, default {DEFAULT_LIMIT}).", {"type": "integer", "minimum": 1}),
    Query("cursor", "The next_cursor of the previous page.", {"type": "string"}),
)


@dataclass(frozen=True)
class Operation:
    summary: str | LazyString
    """Shown in the caller's language (the document and the docs page follow Accept-Language)."""
    answer: type[BaseModel] | None
    tag: str
    scope: str | None = None
    """None: public; ``read`` or ``write``: an organiser's token with that scope."""
    query: tuple[Query, ...] = ()
    body: type[BaseModel] | None = None
    cacheable: bool = False
    errors: tuple[int, ...] = ()
    hidden: bool = False
    """Not an operation of the API (the human-readable docs page)."""
    media_type: str = "application/json"
    extra: dict[str, Any] = field(default_factory=dict)


def documented(operation: Operation) -> Callable[[F], F]:
    """State the view's operation for the OpenAPI document (place it right under the route decorator)."""

    def decorator(view: F) -> F:
        setattr(view, OPERATION_ATTRIBUTE, operation)
        return view

    return decorator


def _register_models(spec: APISpec) -> None:
    seen: set[str] = set()
    for model in MODELS:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}", mode="serialization")
        for name, definition in schema.pop("$defs", {}).items():
            if name not in seen:
                spec.components.schema(name, component=definition)
                seen.add(name)
        if model.__name__ not in seen:
            spec.components.schema(model.__name__, component=schema)
            seen.add(model.__name__)


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


ERROR_DESCRIPTIONS = {
    400: "Bad request (a malformed parameter or body)",
    401: "No valid token (missing, unknown, revoked, or its owner deactivated)",
    403: "The token's scope does not allow this operation",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict (the contest's phase does not allow it, or a result is not what was frozen)",
    413: "The body is too large",
    422: "Refused input; every problem is listed in fields",
    429: "Too many requests",
    500: "Unexpected error; nothing was changed",
}
COMMON_ERRORS = (404, 405, 429, 500)


def _operation(rule_arguments: dict[str, str], endpoint: str, operation: Operation) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": kind}}
        for name, kind in rule_arguments.items()
    ]
    parameters += [
        {"name": query.name, "in": "query", "required": False, "description": query.description, "schema": query.schema}
        for query in operation.query
    ]
    parameters.append(
        {
            "name": "Accept-Language",
            "in": "header",
            "required": False,
            "description": "zh (default) or en: the language of messages.",
            "schema": {"type": "string"},
        }
    )
    responses: dict[str, Any] = {}
    ok: dict[str, Any] = {"description": "OK"}
    if operation.answer is not None:
        ok["content"] = {operation.media_type: {"schema": _ref(operation.answer.__name__)}}
    elif operation.media_type != "application/json":
        ok["content"] = {operation.media_type: {"schema": {"type": "string"}}}
    else:
        ok["content"] = {"application/json": {"schema": {"type": "object"}}}
    responses["200"] = ok
    if operation.cacheable:
        ok["headers"] = {
            "ETag": {"description": "Strong validator of this version.", "schema": {"type": "string"}},
            "Cache-Control": {"description": "Shared caches may keep it a minute.", "schema": {"type": "string"}},
        }
        responses["304"] = {"description": "Not modified (If-None-Match holds the current ETag)"}
    statuses = set(COMMON_ERRORS) | set(operation.errors)
    if operation.scope:
        statuses |= {401, 403}
    if operation.body is not None:
        statuses |= {400}
    for status in sorted(statuses):
        responses[str(status)] = {
            "description": ERROR_DESCRIPTIONS[status],
            "content": {"application/json": {"schema": _ref("Error")}},
        }
    found: dict[str, Any] = {
        "operationId": endpoint.rsplit(".", 1)[-1],
        "summary": str(operation.summary),
        "tags": [operation.tag],
        "parameters": parameters,
        "responses": responses,
    }
    if operation.scope:
        found["security"] = [{"token": []}]
        found["description"] = f"Needs an organiser's API token with scope {operation.scope}."
    else:
        found["security"] = []
    if operation.body is not None:
        found["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(operation.body.__name__)}},
        }
    return found


def openapi_document(app: Flask, server_url: str = "/") -> dict[str, Any]:
    """The OpenAPI 3.1 document of every operation under ``/api/v1``, read from the app's routes."""
    spec = APISpec(
        title="Contest judging service API",
        version="1.0.0",
        openapi_version="3.1.0",
        info={
            "description": (
                "Public, cacheable reads of contests, editions, published award lists and certificates; and, "
                "with an organiser's personal token (Authorization: Bearer …), entries, score sheets, the "
                "results preview and the import of skills part scores. Every list pages (limit, cursor); "
                "every error has one shape. Messages follow Accept-Language (zh by default, en)."
            )
        },
        servers=[{"url": server_url}],
    )
    spec.components.security_scheme(
        "token", {"type": "http", "scheme": "bearer", "description": "An organiser's personal API token."}
    )
    _register_models(spec)
    for rule in sorted(app.url_map.iter_rules(), key=lambda found: found.rule):
        if not rule.rule.startswith(API_PREFIX + "/"):
            continue
        view = app.view_functions[rule.endpoint]
        operation: Operation | None = getattr(view, OPERATION_ATTRIBUTE, None)
        if operation is None:
            raise RuntimeError(f"{rule.rule}: an API route without a documented operation")
        if operation.hidden:
            continue
        arguments = {
            name: "integer" if type(converter).__name__ == "IntegerConverter" else "string"
            for name, converter in rule._converters.items()
        }
        path = rule.rule
        for name in arguments:
            path = path.replace(f"<int:{name}>", "{" + name + "}").replace(f"<{name}>", "{" + name + "}")
        methods = sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
        spec.path(
            path=path,
            operations={method.lower(): _operation(arguments, rule.endpoint, operation) for method in methods},
        )
    return spec.to_dict()
