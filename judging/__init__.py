"""The contest judging service: entries, online expert scoring against rubrics, ranked award lists."""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from babel import Locale
from flask import Flask, current_app, has_request_context, request, session
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from judging.config import PROJECT_ROOT, settings_from_environment
from judging.links import check_public_base_url

if TYPE_CHECKING:
    from sqlalchemy.engine.interfaces import DBAPIConnection

    from judging.models import User


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the application: defaults and environment, then ``config`` (tests) on top."""
    app = Flask(
        __name__,
        instance_path=str(PROJECT_ROOT / "instance"),
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder="static",
    )
    # The instance folder (generated keys, the audit head, uploads by default, previews of imports): the
    # project's instance/ unless INSTANCE_PATH says otherwise (each host of several has its own).
    instance = (config or {}).get("INSTANCE_PATH") or os.environ.get("INSTANCE_PATH")
    if instance:
        app.instance_path = str(instance)
    app.config.update(settings_from_environment(Path(app.instance_path)))
    if config:
        app.config.update(config)
    check_public_base_url(app)
    _trust_proxies(app)
    _warn_when_limits_are_per_process(app)
    Path(app.config["UPLOAD_FOLDER"]).mkdir(parents=True, exist_ok=True)
    from judging.storage import storage_from_config

    # A process killed mid-upload (SIGKILL, out of memory) ran no cleanup: its part files go now.
    if left := storage_from_config(app.config).sweep_scratch():
        app.logger.warning("removed %d unfinished upload files of processes that had stopped", len(left))

    from judging.web.upload_request import UploadRequest

    app.request_class = UploadRequest  # closes spooled uploads even when a body stops half-way
    _init_extensions(app)
    _register_blueprints(app)
    _register_cli(app)
    from judging.web import errors, pages  # the web layer sits on top: imported once the app exists

    errors.init_app(app)
    pages.init_app(app)
    for language in app.config["LANGUAGES"]:
        _locale(language)  # Babel's locale data is read here, not on some user's first request to each worker
    return app


def _trust_proxies(app: Flask) -> None:
    """Behind ``TRUSTED_PROXIES`` proxies, the client's address and scheme are the ones they forward.

    Without it, X-Forwarded-* headers are ignored: anyone could send them, and the login throttles and
    rate limits would count whatever address a client claims. With it, only the last that many hops of
    X-Forwarded-For are believed (those our own proxies appended).
    """
    hops = int(app.config.get("TRUSTED_PROXIES") or 0)
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]


def _warn_when_limits_are_per_process(app: Flask) -> None:
    if not (app.debug or app.testing) and app.config.get("RATELIMIT_STORAGE_URI", "").startswith("memory://"):
        app.logger.warning(
            "RATELIMIT_STORAGE_URI is memory://: each worker counts on its own, so the limits are multiplied by "
            "the number of workers. Set it to redis://HOST:PORT/0 in production."
        )


def _select_locale() -> Locale:
    """The language asked for with ``?lang=`` or chosen with the switch (by a program calling the API:
    with ``Accept-Language``); else the default (Chinese)."""
    languages = current_app.config["LANGUAGES"]
    if has_request_context():
        chosen = request.args.get("lang")
        if chosen in languages:
            return _locale(chosen)
        stored = session.get("locale")
        if stored in languages:
            return _locale(stored)
        if request.path.startswith("/api/"):  # programs calling the API say so with Accept-Language
            asked = request.accept_languages.best_match(languages)
            return _locale(asked or current_app.config["BABEL_DEFAULT_LOCALE"])
    return _locale(current_app.config["BABEL_DEFAULT_LOCALE"])


@lru_cache(maxsize=16)
def _locale(identifier: str) -> Locale:
    """Parsed once per process: Flask-Babel would parse the string for every request (0.17 ms here)."""
    return Locale.parse(identifier)


def _init_extensions(app: Flask) -> None:
    from judging.extensions import babel, bootstrap, csrf, db, limiter, login_manager, migrate

    db.init_app(app)
    from judging.services import audit

    audit.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    babel.init_app(
        app,
        locale_selector=_select_locale,
        default_translation_directories=str(PROJECT_ROOT / "judging" / "translations"),
    )
    bootstrap.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "basic"

    from flask_babel import lazy_gettext

    login_manager.login_message = lazy_gettext("Please log in to see this page.")
    login_manager.login_message_category = "info"

    @login_manager.user_loader
    def load_user(session_id: str) -> User | None:
        from judging.services.accounts import load_user_by_session_id

        return load_user_by_session_id(db.session, session_id)

    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            _configure_sqlite(db.engine)


def _configure_sqlite(engine: Engine) -> None:
    """WAL journal (readers never block the writer), enforced foreign keys, a busy timeout."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: DBAPIConnection, _record: object) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()


def _register_blueprints(app: Flask) -> None:
    from judging.web import url_converters

    url_converters.init_app(app)  # before any rule is added: rules compile their converters when added
    from judging.web import (
        api,
        api_v1,
        auth,
        ceremonies,
        entrant,
        files,
        judge,
        organizer,
        organizer_builder,
        organizer_contests,
        organizer_entries,
        organizer_jobs,
        organizer_judging,
        organizer_organizations,
        organizer_people,
        organizer_publication,
        organizer_reports,
        organizer_results,
        organizer_rounds,
        organizer_skills,
        organizer_tokens,
        organizer_vote,
        paper,
        public,
        publication,
        setup,
        vote,
    )

    for module in (
        setup,
        public,
        auth,
        organizer,
        organizer_builder,
        organizer_contests,
        organizer_people,
        organizer_organizations,
        organizer_entries,
        organizer_judging,
        organizer_rounds,
        organizer_results,
        organizer_skills,
        organizer_reports,
        organizer_publication,
        organizer_vote,
        organizer_jobs,
        organizer_tokens,
        ceremonies,
        publication,
        entrant,
        judge,
        paper,
        files,
        vote,
        api,
        api_v1,
    ):
        app.register_blueprint(module.bp)


def _register_cli(app: Flask) -> None:
    from judging import cli

    cli.init_app(app)
