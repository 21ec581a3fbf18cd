"""Error pages in the user's language: no traceback ever reaches a user."""

from __future__ import annotations

from flask import Flask, g, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

from judging.extensions import db, login_manager
from judging.services import NotFound
from judging.web import api_access


def _messages() -> dict[int, tuple[str, str]]:
    return {
        400: (_("Bad request"), _("The request could not be understood. Please go back and try again.")),
        403: (_("Not allowed"), _("Your account does not have access to this page.")),
        404: (_("Not found"), _("There is no such page, or it is not visible to you.")),
        405: (_("Not allowed"), _("This page cannot be used that way.")),
        413: (
            _("File too large"),
            _("The file is larger than the service accepts. Please check the size limit and upload a smaller file."),
        ),
        429: (_("Too many attempts"), _("Too many requests in a short time. Please wait a minute and try again.")),
        500: (_("Something went wrong"), _("An unexpected error occurred. Nothing was changed; please try again.")),
        503: (
            _("Service unavailable"),
            _("The database cannot be reached right now. Nothing was changed; please try again in a moment."),
        ),
    }


def render_error(status: int, detail: str | None = None) -> ResponseReturnValue:
    title, message = _messages().get(status, (str(status), ""))
    if api_access.is_api_request():
        return api_access.error_response(status, detail or message)
    if request.path.startswith("/api/"):
        return {"error": title, "message": detail or message}, status
    return render_template("errors/error.html", status=status, title=title, message=detail or message), status


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError) -> ResponseReturnValue:
        return render_error(400, _("The form has expired or was not sent from this site. Please reload and retry."))

    @app.errorhandler(NotFound)
    def _not_found(error: NotFound) -> ResponseReturnValue:
        """A missing object, or one the user may not see, raised by a lookup or a service: 404 in one place."""
        db.session.rollback()
        return render_error(404, error.message if api_access.is_api_request() else None)

    @app.errorhandler(api_access.ApiRefusal)
    def _api_refusal(error: api_access.ApiRefusal) -> ResponseReturnValue:
        db.session.rollback()
        return api_access.refusal_response(error)

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> ResponseReturnValue:
        return render_error(error.code or 500)

    @app.errorhandler(DBAPIError)
    def _database_error(error: DBAPIError) -> ResponseReturnValue:
        db.session.rollback()
        if not isinstance(error, OperationalError) and not error.connection_invalidated:
            app.logger.exception("unhandled database error")
            return render_error(500)
        app.logger.error("database unavailable: %s", error)
        # The page must not ask the database again: Flask-Login's template context would load the
        # signed-in user, fail the same way, and turn this page into the server's bare 500.
        g._login_user = login_manager.anonymous_user()
        return render_error(503)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> ResponseReturnValue:
        db.session.rollback()
        app.logger.exception("unhandled error")
        return render_error(500)
