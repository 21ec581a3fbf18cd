"""contests belong to a series, own a unique code prefix, and can be archived

Revision ID: e7d1c0a2b4f6
Revises: b1a7d0c0f1e5
Create Date: 2026-12-04 17:00:00.000000

Existing contests: the series is the rubric's ``contest.series`` or the slug, the code prefix the
current rubric's ``contest.code_prefix`` or the one derived from the slug (as the rubric module does).
"""
import tomllib

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'e7d1c0a2b4f6'
down_revision = '4e122286d7cf'
branch_labels = None
depends_on = None


def _prefix_and_series(slug: str, text: str) -> tuple[str, str]:
    try:
        table = tomllib.loads(text).get("contest", {})
    except tomllib.TOMLDecodeError:
        table = {}
    prefix = table.get("code_prefix") or "".join(p[0] for p in slug.split("-") if p).upper()[:4] or "E"
    return prefix, table.get("series") or slug


def upgrade():
    with op.batch_alter_table('contest', schema=None) as batch_op:
        batch_op.add_column(sa.Column('series', sa.String(length=80), server_default='', nullable=False))
        batch_op.add_column(sa.Column('code_prefix', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('archived_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_contest_series'), ['series'], unique=False)

    connection = op.get_bind()
    rows = connection.execute(
        sa.text(
            "SELECT c.id, c.slug, v.text FROM contest c JOIN rubric_version v ON v.contest_id = c.id "
            "WHERE v.version = (SELECT max(version) FROM rubric_version WHERE contest_id = c.id)"
        )
    ).all()
    used: set[str] = set()
    for contest_id, slug, text in rows:
        prefix, series = _prefix_and_series(slug, text)
        if prefix in used:  # two contests sharing a prefix before it had to be unique
            prefix = f"{prefix[:4]}{contest_id}"[:8]
        used.add(prefix)
        connection.execute(
            sa.text("UPDATE contest SET code_prefix = :prefix, series = :series WHERE id = :id"),
            {"prefix": prefix, "series": series, "id": contest_id},
        )

    with op.batch_alter_table('contest', schema=None) as batch_op:
        batch_op.alter_column('code_prefix', existing_type=sa.String(length=8), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_contest_code_prefix'), ['code_prefix'])


def downgrade():
    with op.batch_alter_table('contest', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_contest_code_prefix'), type_='unique')
        batch_op.drop_index(batch_op.f('ix_contest_series'))
        batch_op.drop_column('archived_at')
        batch_op.drop_column('code_prefix')
        batch_op.drop_column('series')
