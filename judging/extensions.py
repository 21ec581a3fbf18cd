"""Flask extensions, created unbound; :func:`judging.create_app` binds them with ``init_app``."""

from __future__ import annotations

from flask_babel import Babel
from flask_bootstrap import Bootstrap5
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy.orm import Session

from judging.models import Base


class Database(SQLAlchemy):
    """Flask-SQLAlchemy, with ``session`` typed as what the services take.

    ``db.session`` is a ``scoped_session``: a proxy that hands every call to the request's own
    :class:`~sqlalchemy.orm.Session`. The services are annotated with ``Session`` (they run on any
    session: a request's, the CLI's, a test's), so the checker is told what the proxy stands for.
    """

    session: Session  # type: ignore[assignment]  # the proxy forwards every Session method


db = Database(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
bootstrap = Bootstrap5()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
