"""Command-line interface: ``flask init``, ``flask rubric check``, ``flask audit verify``, offline ranking."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from flask_migrate import upgrade
from sqlalchemy.orm import Session

from judging.exports import publication as export_documents
from judging.extensions import db
from judging.links import absolute_url
from judging.models import OrganizationKind, Role
from judging.offline import rank_command, reliability_command
from judging.rubric import RubricError, check_rubric_files, load_rubric_directory
from judging.services import (
    ServiceError,
    accounts,
    audit,
    backup,
    contests,
    demo,
    entry_files,
    first_run,
    integrity,
    organizations,
    parts_uploads,
    snapshots,
)
from judging.storage import storage_from_config

rubric_cli = AppGroup("rubric", help="Rubric files.")
audit_cli = AppGroup("audit", help="The tamper-evident audit log.")
results_cli = AppGroup("results", help="Frozen and published results.")
user_cli = AppGroup("user", help="Accounts.")


@contextmanager
def _committed_or_exit(session: Session) -> Iterator[None]:
    """Commit what the block did; on a refusal roll back (nothing written), print each reason on
    standard error and exit 1."""
    try:
        yield
        session.commit()
    except RubricError as exc:
        session.rollback()
        for line in exc.errors:
            click.echo(line, err=True)
        sys.exit(1)
    except ServiceError as exc:
        session.rollback()
        click.echo(exc.message, err=True)
        sys.exit(1)


@click.command("init")
@with_appcontext
@click.option("--demo", "with_demo", is_flag=True, help="Add demo accounts, entries with videos, and scores.")
@click.option("--edition", default=None, help="Edition label of new contests (default: the current year).")
@click.option(
    "--migrate-rubrics",
    is_flag=True,
    help="Accept changed rubrics of contests that have score sheets: their submitted sheets are reopened.",
)
@click.option(
    "--archive-missing",
    is_flag=True,
    help="Archive the contests whose rubric file was removed from the rubric folder (hidden from the public).",
)
def init_command(with_demo: bool, edition: str | None, migrate_rubrics: bool, archive_missing: bool) -> None:
    """Create or upgrade the database, load rubrics/ and seed the organisations (idempotent).

    A changed rubric of a contest that already has score sheets is refused (exit 1, every difference
    named, nothing written) unless --migrate-rubrics. A contest whose rubric file is gone from the
    folder is left as it is and named (a removed file may be a mistake, and the contest holds entries
    and results), unless --archive-missing, which archives it; contests made in the browser have no
    file and are never named."""
    app = current_app
    upgrade(directory=str(Path(app.root_path).parent / "migrations"))
    session = db.session
    with _committed_or_exit(session):
        rows = organizations.read_organization_file(app.config["ORGANIZATIONS_FILE"])
        added = organizations.seed_organizations(session, rows)
        rubrics = load_rubric_directory(app.config["RUBRICS_FOLDER"])
        label = edition or str(datetime.now(ZoneInfo(app.config["DISPLAY_TIMEZONE"])).year)
        refused: list[str] = []
        for rubric in rubrics:
            try:
                contests.sync_rubric(session, None, rubric, edition=label, migrate=migrate_rubrics)
            except contests.RubricInUse as in_use:
                refused.extend(in_use.problems)
        if refused:
            raise RubricError(refused)
        missing = contests.contests_without_rubric_file(session, app.config["RUBRICS_FOLDER"])
        for contest in missing:
            if archive_missing:
                contests.archive(session, None, contest)
        audit.anchor_unkeyed_events(session)  # a log written before it was keyed: key it from here on
    # Files of an upload whose process was killed while committing: kept or removed as the database says.
    storage = storage_from_config(app.config)
    entry_files.clear_interrupted_uploads(session, storage)
    # A contest made blind after its uploads: judges get no file until its clean copy exists.
    copies = entry_files.make_missing_blind_copies(session, storage)
    session.commit()
    click.echo(f"Database ready; {added} organisations added; {len(rubrics)} contests loaded.")
    for contest in missing:
        source = contest.current_rubric.source
        if archive_missing:
            click.echo(f"{contest.slug}: its rubric file {source} is gone; archived (hidden from the public).")
        else:
            click.echo(
                f"{contest.slug}: its rubric file {source} is gone; the contest is left as it is "
                "(archive it on its page, or run flask init --archive-missing)."
            )
    if copies:
        click.echo(f"{copies} blind copies made of files uploaded before their contest was blind.")
    if not with_demo:
        _print_setup_link(app)
        return
    if demo.demo_present(session):
        click.echo("Demo data already present.")
    else:
        click.echo("Creating demo data (generating videos)…")
        with _committed_or_exit(session):
            demo.seed_demo(session, storage_from_config(app.config))
    click.echo(f"Demo logins (password for all: {demo.DEMO_PASSWORD}):")
    for login in demo.demo_logins(session):
        click.echo(f"  {login.role.value:<10} {login.username:<20} {login.organization}")


def _print_setup_link(app: Flask) -> None:
    """While no organiser exists: a fresh one-time link to the setup page (earlier links stop working)."""
    with _committed_or_exit(db.session):
        token = first_run.issue_setup_token(db.session, app.config["SETUP_LINK_HOURS"])
    if token is None:
        return
    with app.test_request_context(base_url=app.config["PUBLIC_BASE_URL"] or "http://127.0.0.1:5000"):
        url = absolute_url("setup.first_organizer", token=token)
    click.echo("No organiser account exists yet. Create the first one with this one-time link")
    click.echo(f"(valid {app.config['SETUP_LINK_HOURS']} hours; running `flask init` again replaces it):")
    click.echo(f"  {url}")
    click.echo("or at this shell: flask user create --role organizer --username USERNAME --name NAME")


@user_cli.command("create")
@with_appcontext
@click.option("--role", required=True, type=click.Choice([role.value for role in Role]), help="The account's role.")
@click.option("--username", required=True, help="3 to 40 letters, digits, dots, dashes or underscores.")
@click.option("--name", "display_name", required=True, help="The name shown to others.")
@click.option(
    "--organization",
    default=None,
    help="The organisation's exact name: an entrant's organisation, a judge's affiliation, an organiser's office.",
)
@click.option(
    "--password-file",
    type=click.File("r", encoding="utf-8"),
    default=None,
    help="Read the password from the first line of this file (`-` for standard input) instead of asking.",
)
def user_create_command(
    role: str, username: str, display_name: str, organization: str | None, password_file: TextIO | None
) -> None:
    """Create an account with its password (the first organiser of a fresh install, for instance).

    The password is asked twice unless --password-file is given; it must pass the same policy as on the
    website. Nothing is written when anything is refused."""
    session = db.session
    org = None
    if organization is not None:
        org = organizations.find_organization(session, organization)
        if org is None:
            click.echo(f"No organisation is named {organization!r} (see the organisations page).", err=True)
            sys.exit(1)
        if Role(role) is Role.ORGANIZER and org.kind is not OrganizationKind.ORGANIZER:
            click.echo(f"{organization!r} is not an organiser organisation.", err=True)
            sys.exit(1)
    if password_file is not None:
        password = password_file.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt="Repeat the password")
    with _committed_or_exit(session):
        user = accounts.create_account_with_password(
            session,
            None,
            username=username,
            display_name=display_name,
            role=Role(role),
            organization=org,
            password=password,
        )
    click.echo(f"Account {user.username} ({user.role.value}) created; it can log in now.")


@rubric_cli.command("check")
@click.argument("paths", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
def rubric_check_command(paths: tuple[Path, ...]) -> None:
    """Validate rubric files: one line per problem, exit 1 if there is any."""
    errors = check_rubric_files(paths)
    for line in errors:
        click.echo(line, err=True)
    if errors:
        sys.exit(1)
    click.echo(f"{len(paths)} rubric file(s) valid.")


@rubric_cli.command("migrate")
@with_appcontext
@click.option("--contest", "slug", required=True, help="The contest's slug, e.g. micro-video.")
def rubric_migrate_command(slug: str) -> None:
    """Load the contest's changed rubric from the rubric folder although it has score sheets: the
    submitted sheets are reopened for the judges to submit again under the new version (audited)."""
    session = db.session
    with _committed_or_exit(session):
        rubrics = [r for r in load_rubric_directory(current_app.config["RUBRICS_FOLDER"]) if r.slug == slug]
        if not rubrics:
            raise ServiceError(f"{slug}: no rubric file in {current_app.config['RUBRICS_FOLDER']} has this slug.")
        contest = contests.get_contest(session, slug)
        before = contest.current_rubric.version
        contests.sync_rubric(session, None, rubrics[0], migrate=True)
    after = contest.current_rubric.version
    if after == before:
        click.echo(f"{slug}: the rubric is unchanged (version {before}).")
    else:
        click.echo(f"{slug}: rubric version {before} → {after}; submitted sheets reopened for the judges.")


@click.command("backup")
@with_appcontext
@click.option(
    "--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The .tar.gz to write."
)
def backup_command(out: Path) -> None:
    """Write the whole instance (every table and every uploaded file) to one archive."""
    manifest = backup.write_backup(db.session, storage_from_config(current_app.config), out)
    head = manifest["audit_head"]
    click.echo(
        f"{out}: {sum(manifest['tables'].values())} rows in {len(manifest['tables'])} tables, "
        f"{len(manifest['files'])} files, schema {manifest['schema_revision']}, "
        f"audit chain head: event {head['count']} {head['hash']}."
    )


@click.command("expire-uploads")
@with_appcontext
def expire_uploads_command() -> None:
    """Delete unfinished uploads past UPLOAD_EXPIRY_HOURS, and parts the storage holds for no upload (cron)."""
    gone = parts_uploads.expire(db.session, storage_from_config(current_app.config))
    db.session.commit()
    click.echo(f"{gone} unfinished uploads removed.")


@click.command("restore")
@with_appcontext
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def restore_command(archive: Path) -> None:
    """Restore an archive written by `flask backup` into an empty database and upload folder."""
    upgrade(directory=str(Path(current_app.root_path).parent / "migrations"))
    try:
        manifest = backup.restore_backup(db.session, storage_from_config(current_app.config), archive)
        head = audit.chain_head(db.session)
        db.session.commit()
    except ServiceError as refusal:
        db.session.rollback()
        click.echo(refusal.message, err=True)
        sys.exit(1)
    # This instance's history is now the archive's: its head replaces whatever the head file held.
    audit.write_head(audit.current_seal(), head, replace=True)
    click.echo(
        f"Restored {sum(manifest['tables'].values())} rows and {len(manifest['files'])} files "
        f"from {manifest['created_at']}."
    )


@audit_cli.command("verify")
def audit_verify_command() -> None:
    """Check the audit chain and its head kept outside the database, replay the score sheets against the
    live tables, and recompute every result's digest: exit 1 with one line per disagreement."""
    found = integrity.verify_instance(db.session, audit.current_seal())
    for line in found.findings:
        click.echo(line, err=True)
    if found.findings:
        sys.exit(1)
    click.echo("audit chain intact.")
    click.echo(
        f"{found.events} events; {found.sheets} score sheets, {found.snapshots} results and "
        f"{found.certificates} certificates agree with the log."
    )


@results_cli.command("export")
@with_appcontext
@click.option("--contest", "slug", required=True, help="The contest's slug, e.g. micro-video.")
@click.option("--format", "fmt", required=True, type=click.Choice(["xlsx", "csv", "pdf"]))
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--document",
    type=click.Choice(["award-list", "certificates", "booklet"]),
    default="award-list",
    show_default=True,
    help="For --format pdf: the award list, the certificates (once published) or the case booklet.",
)
@click.option("--number", type=int, default=None, help="Which frozen result (default: the public one).")
def results_export_command(slug: str, fmt: str, out: Path, document: str, number: int | None) -> None:
    """Write the award list (xlsx, csv with BOM, pdf), the certificates or the booklet of a frozen result."""
    if fmt != "pdf" and document != "award-list":
        click.echo(f"--document {document} is a PDF: use --format pdf.", err=True)
        sys.exit(1)
    app = current_app
    # Certificates print their verification URL: build it against the public address, not "localhost".
    with app.test_request_context(base_url=app.config["PUBLIC_BASE_URL"] or None):
        try:
            contest = contests.get_contest(db.session, slug)
            snapshot = (
                snapshots.get_snapshot(db.session, contest, number)
                if number is not None
                else snapshots.current_snapshot(db.session, contest)
            )
            if snapshot is None:
                raise ServiceError(f"{slug}: no result has been frozen yet (freeze it on the publication page).")
            data = export_documents.render(db.session, snapshot, f"{document}.{fmt}", storage_from_config(app.config))
        except ServiceError as refusal:
            click.echo(refusal.message, err=True)
            sys.exit(1)
    out.write_bytes(data)
    click.echo(
        f"{out}: {document} of {slug} result No. {snapshot.number} ({len(data)} bytes), digest {snapshot.digest}."
    )


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty instead of waiting for more jobs.")
@click.option(
    "--nice",
    "niceness",
    type=click.IntRange(0, 19),
    default=10,
    show_default=True,
    help="Run at this lower CPU priority, so that web requests on the same host come first.",
)
@with_appcontext
def worker_command(burst: bool, niceness: int) -> None:
    """Run background jobs (certificates, booklets, large exports) from the queue on JOB_QUEUE_URL."""
    from judging import worker

    try:
        worker.work(burst=burst, niceness=niceness)
    except RuntimeError as problem:
        raise click.ClickException(str(problem)) from None


def init_app(app: Flask) -> None:
    app.cli.add_command(worker_command)
    app.cli.add_command(init_command)
    app.cli.add_command(rubric_cli)
    app.cli.add_command(audit_cli)
    app.cli.add_command(results_cli)
    app.cli.add_command(user_cli)
    app.cli.add_command(backup_command)
    app.cli.add_command(expire_uploads_command)
    app.cli.add_command(restore_command)
    app.cli.add_command(rank_command)
    app.cli.add_command(reliability_command)
