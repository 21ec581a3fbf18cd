"""Settings from environment variables, with safe defaults.

Order of precedence in :func:`judging.create_app`: these defaults, then environment variables,
then the mapping passed to the factory (tests). Nothing here is specific to one city or year.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _instance_secret_key(instance_path: Path, name: str = "secret_key") -> str:
    """A key kept in ``instance/<name>`` (the SECRET_KEY, the AUDIT_KEY), generated once on first start."""
    key_file = instance_path / name
    if key_file.exists():
        return key_file.read_text(encoding="ascii").strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    # O_EXCL: two workers starting together must not write different keys.
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return key_file.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key)
    return key


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def settings_from_environment(instance_path: Path) -> dict[str, object]:
    """Build the configuration mapping from the environment, defaulting to an embedded setup."""
    env = os.environ
    database_url = env.get("DATABASE_URL") or f"sqlite:///{instance_path / 'judging.sqlite3'}"
    if database_url.startswith("postgres://"):  # the scheme Heroku-style hosts hand out
        database_url = "postgresql+psycopg://" + database_url.removeprefix("postgres://")
    elif database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url.removeprefix("postgresql://")
    secret_key = env.get("SECRET_KEY") or _instance_secret_key(instance_path)
    # The audit log's HMAC key: outside the database, so that whoever can write the database but not read
    # this key cannot re-chain the log after an edit (see judging.services.audit).
    audit_key = env.get("AUDIT_KEY") or _instance_secret_key(instance_path, "audit_key")
    return {
        "SECRET_KEY": secret_key,
        "AUDIT_KEY": audit_key,
        # The chain's head (count, hash, keyed), rewritten after each commit that appended events: deleting
        # the newest events shows. Several hosts: put it on storage they share.
        "AUDIT_HEAD_FILE": env.get("AUDIT_HEAD_FILE") or str(instance_path / "audit_head"),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "UPLOAD_FOLDER": env.get("UPLOAD_FOLDER") or str(instance_path / "uploads"),
        # Where uploaded files live: "local" (UPLOAD_FOLDER, one host) or "s3" (an S3-compatible object store
        # shared by every host; UPLOAD_FOLDER then holds only scratch files and a read cache). See README.
        "STORAGE_BACKEND": env.get("STORAGE_BACKEND") or "local",
        "S3_ENDPOINT_URL": env.get("S3_ENDPOINT_URL") or "",
        # The store's address as browsers reach it (presigned part URLs), when it differs from the app's.
        "S3_PUBLIC_ENDPOINT_URL": env.get("S3_PUBLIC_ENDPOINT_URL") or "",
        "S3_BUCKET": env.get("S3_BUCKET") or "",
        "S3_PREFIX": env.get("S3_PREFIX") or "",  # one bucket for several instances: each under its own prefix
        "S3_REGION": env.get("S3_REGION") or "us-east-1",
        "S3_ACCESS_KEY_ID": env.get("S3_ACCESS_KEY_ID") or "",
        "S3_SECRET_ACCESS_KEY": env.get("S3_SECRET_ACCESS_KEY") or "",
        # Resumable uploads: the size of a part (S3 needs at least 5 MB) and how long an unfinished upload is kept.
        "UPLOAD_PART_BYTES": int(env.get("UPLOAD_PART_MB") or 8) * 1024 * 1024,
        "UPLOAD_EXPIRY_HOURS": int(env.get("UPLOAD_EXPIRY_HOURS") or 24),
        "RUBRICS_FOLDER": env.get("RUBRICS_FOLDER") or str(PROJECT_ROOT / "rubrics"),
        "ORGANIZATIONS_FILE": env.get("ORGANIZATIONS_FILE") or str(PROJECT_ROOT / "data" / "organizations.toml"),
        "DISPLAY_TIMEZONE": env.get("DISPLAY_TIMEZONE") or "Asia/Shanghai",
        "BABEL_DEFAULT_LOCALE": env.get("DEFAULT_LOCALE") or "zh_CN",
        "BABEL_DEFAULT_TIMEZONE": env.get("DISPLAY_TIMEZONE") or "Asia/Shanghai",
        "SITE_NAME": env.get("SITE_NAME") or "",
        # The site's public address (e.g. https://awards.example.org): every absolute link (invitations,
        # certificates' verification URLs) is built from it, never from the request's Host header.
        # Required in production (see judging.links).
        "PUBLIC_BASE_URL": env.get("PUBLIC_BASE_URL") or "",
        # How many reverse proxies in front of the app set X-Forwarded-For/-Proto (1 behind deploy/nginx.conf).
        # 0: those headers are ignored, the client is the connection's peer.
        "TRUSTED_PROXIES": int(env.get("TRUSTED_PROXIES") or 0),
        "VOTE_POW_DIFFICULTY": int(env.get("VOTE_POW_DIFFICULTY") or 16),
        "INVITATION_DAYS": int(env.get("INVITATION_DAYS") or 7),
        # How long the first-run setup link that `flask init` prints works (see judging.services.first_run).
        "SETUP_LINK_HOURS": int(env.get("SETUP_LINK_HOURS") or 24),
        # While no organiser exists, every page but the setup page says how to set the service up.
        "FIRST_RUN_NOTICE": _bool(env.get("FIRST_RUN_NOTICE"), True),
        # Optional mail (judging.services.mail): without MAIL_SERVER nothing is sent; letters and a spreadsheet
        # of invitation links are offered instead.
        "MAIL_SERVER": env.get("MAIL_SERVER") or "",
        "MAIL_PORT": int(env.get("MAIL_PORT") or 25),
        "MAIL_USE_TLS": _bool(env.get("MAIL_USE_TLS"), False),
        "MAIL_USE_SSL": _bool(env.get("MAIL_USE_SSL"), False),
        "MAIL_USERNAME": env.get("MAIL_USERNAME") or "",
        "MAIL_PASSWORD": env.get("MAIL_PASSWORD") or "",
        "MAIL_SENDER": env.get("MAIL_SENDER") or "",
        "MAX_CONTENT_LENGTH": int(env.get("MAX_UPLOAD_MB") or 1100) * 1024 * 1024,
        # memory:// counts per process: with several workers or hosts use redis://HOST:PORT/0 so all share one count.
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI") or "memory://",
        "RATELIMIT_ENABLED": _bool(env.get("RATELIMIT_ENABLED"), True),
        # redis://HOST:PORT/1: long work (certificates, booklets) goes to `flask worker` through this queue.
        # Empty: it runs inside the request that asks for it (the embedded default).
        "JOB_QUEUE_URL": env.get("JOB_QUEUE_URL") or "",
        # How often a running job's process says it is alive: silent for six beats, the job may be retried.
        "JOB_HEARTBEAT_SECONDS": float(env.get("JOB_HEARTBEAT_SECONDS") or 10),
        "LOGIN_RATE_LIMIT": env.get("LOGIN_RATE_LIMIT") or "10 per minute",
        "API_RATE_LIMIT": env.get("API_RATE_LIMIT") or "300 per minute;5000 per hour",
        "OBJECTION_RATE_LIMIT": env.get("OBJECTION_RATE_LIMIT") or "5 per hour;20 per day",
        # A published award list is answered from each worker's memory for this long (a ceremony's readers
        # arrive within seconds); a correction or the end of the notice shows at most this much later. 0: off.
        "PUBLISHED_PAGE_SECONDS": float(env.get("PUBLISHED_PAGE_SECONDS") or 2),
        # Looking an objection up by reference and contact: enough for a person, too few to enumerate.
        "OBJECTION_LOOKUP_RATE_LIMIT": env.get("OBJECTION_LOOKUP_RATE_LIMIT") or "10 per minute;50 per day",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _bool(env.get("SESSION_COOKIE_SECURE"), False),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SECURE": _bool(env.get("SESSION_COOKIE_SECURE"), False),
        "WTF_CSRF_TIME_LIMIT": None,  # tied to the session instead: judges keep a sheet open for hours
        "BOOTSTRAP_SERVE_LOCAL": True,  # government networks are often offline: no CDN
        "LANGUAGES": ("zh_CN", "en"),
    }
