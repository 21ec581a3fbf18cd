"""Sending notices by e-mail, when the site has a mail server (``MAIL_SERVER``); optional.

Without one nothing is sent anywhere and the pages offer printed letters and a spreadsheet instead.
Mail goes through the standard library (``smtplib``, ``email``): plain text, UTF-8, one message per
person, over one connection; STARTTLS or SMTPS and a login when configured. A person without an
address is skipped and named, and an address the server refuses is reported, not fatal to the others.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from sqlalchemy.orm import Session

from judging.models import User
from judging.services import audit
from judging.services.notices import Notice

TIMEOUT_SECONDS = 20


@dataclass(frozen=True)
class MailSettings:
    server: str
    port: int
    sender: str
    username: str = ""
    password: str = ""
    starttls: bool = False
    ssl: bool = False

    @classmethod
    def from_config(cls, config: Mapping[str, object]) -> MailSettings | None:
        """The settings, or None when no mail server is configured."""
        server = str(config.get("MAIL_SERVER") or "")
        if not server:
            return None
        return cls(
            server=server,
            port=int(str(config.get("MAIL_PORT") or 25)),
            sender=str(config.get("MAIL_SENDER") or ""),
            username=str(config.get("MAIL_USERNAME") or ""),
            password=str(config.get("MAIL_PASSWORD") or ""),
            starttls=bool(config.get("MAIL_USE_TLS")),
            ssl=bool(config.get("MAIL_USE_SSL")),
        )


@dataclass
class MailReport:
    sent: list[str] = field(default_factory=list)
    """Display names of the people mailed."""
    without_address: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def message_of(notice: Notice, sender: str) -> EmailMessage:
    """The e-mail of a notice: the person's name and address, the subject, the notice's text."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = formataddr((notice.to.display_name, notice.to.email or ""))
    message["Subject"] = notice.subject
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message.set_content(notice.as_text())
    return message


def send_notices(settings: MailSettings, notices: Sequence[Notice]) -> MailReport:
    """Send each notice to its person's address; see the module for what is skipped or reported."""
    report = MailReport()
    addressed = [notice for notice in notices if notice.to.email]
    report.without_address = [notice.to.display_name for notice in notices if not notice.to.email]
    if not addressed:
        return report
    context = ssl.create_default_context()
    try:
        connection: smtplib.SMTP = (
            smtplib.SMTP_SSL(settings.server, settings.port, timeout=TIMEOUT_SECONDS, context=context)
            if settings.ssl
            else smtplib.SMTP(settings.server, settings.port, timeout=TIMEOUT_SECONDS)
        )
    except (OSError, smtplib.SMTPException):
        report.failed = [notice.to.display_name for notice in addressed]
        return report
    with connection:
        try:
            if settings.starttls and not settings.ssl:
                connection.starttls(context=context)
            if settings.username:
                connection.login(settings.username, settings.password)
        except (OSError, smtplib.SMTPException):
            report.failed = [notice.to.display_name for notice in addressed]
            return report
        for notice in addressed:
            try:
                connection.send_message(message_of(notice, settings.sender))
                report.sent.append(notice.to.display_name)
            except (OSError, smtplib.SMTPException):
                report.failed.append(notice.to.display_name)
    return report


def record_mailing(session: Session, actor: User, what: str, report: MailReport, contest_id: int | None = None) -> None:
    """Audit a mailing: what was sent (``invitations``, ``reminders``, ``notice``), to whom, and who was missed."""
    audit.record(
        session,
        actor,
        f"mail.{what}",
        object_type="contest" if contest_id else "user",
        object_id=contest_id or "",
        contest_id=contest_id,
        data={"sent": report.sent, "without_address": report.without_address, "failed": report.failed},
    )
