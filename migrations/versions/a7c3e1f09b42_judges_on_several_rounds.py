"""judges on several rounds

A judge may sit on more than one judging round of a contest: the seats move from ``panel_member.round_key``
to ``panel_round`` (one row per panel member and round), and an assignment is one per entry, judge and
round. ``assignment.round_key`` becomes NOT NULL with "" for a contest without rounds, so that the unique
(entry, judge, round) constraint refuses duplicates there too (NULLs are distinct in a UNIQUE constraint).

The downgrade keeps each judge's latest seat, and refuses when a judge has the same entry in two rounds
(the old schema cannot hold both assignments, and their sheets are not thrown away).

Revision ID: a7c3e1f09b42
Revises: fd5e393dad01
Create Date: 2026-12-05 02:40:00

"""
from alembic import op
import sqlalchemy as sa

import judging.models  # noqa: F401 - custom column types (UTCDateTime)


# revision identifiers, used by Alembic.
revision = 'a7c3e1f09b42'
down_revision = 'fd5e393dad01'
branch_labels = None
depends_on = None


def _check_foreign_keys() -> None:
    """SQLite rebuilds a table in batch mode with its foreign keys off (migrations/env.py): check them."""
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        broken = bind.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"foreign keys broken by the migration: {broken[:5]}")


def upgrade():
    op.create_table('panel_round',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('round_key', sa.String(length=40), nullable=False),
    sa.Column('placed_at', judging.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['panel_member.id'], name=op.f('fk_panel_round_member_id_panel_member'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_panel_round')),
    sa.UniqueConstraint('member_id', 'round_key', name=op.f('uq_panel_round_member_id_round_key'))
    )
    op.execute(
        "INSERT INTO panel_round (member_id, round_key, placed_at) "
        "SELECT id, round_key, joined_at FROM panel_member WHERE round_key IS NOT NULL ORDER BY id"
    )
    with op.batch_alter_table('panel_member', schema=None) as batch_op:
        batch_op.drop_column('round_key')

    op.execute("UPDATE assignment SET round_key = '' WHERE round_key IS NULL")
    with op.batch_alter_table('assignment', schema=None) as batch_op:
        batch_op.alter_column('round_key', existing_type=sa.String(length=40), nullable=False, server_default='')
        batch_op.drop_constraint(batch_op.f('uq_assignment_entry_id_judge_id'), type_='unique')
        batch_op.create_unique_constraint(
            batch_op.f('uq_assignment_entry_id_judge_id_round_key'), ['entry_id', 'judge_id', 'round_key']
        )
    _check_foreign_keys()


def downgrade():
    bind = op.get_bind()
    twice = bind.execute(
        sa.text(
            "SELECT COUNT(*) FROM (SELECT entry_id, judge_id FROM assignment "
            "GROUP BY entry_id, judge_id HAVING COUNT(*) > 1) AS twice"
        )
    ).scalar()
    if twice:
        raise RuntimeError(
            f"{twice} (entry, judge) pairs have an assignment in more than one round: "
            "the schema before a7c3e1f09b42 holds one; nothing was changed"
        )
    with op.batch_alter_table('assignment', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_assignment_entry_id_judge_id_round_key'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_assignment_entry_id_judge_id'), ['entry_id', 'judge_id'])
        batch_op.alter_column('round_key', existing_type=sa.String(length=40), nullable=True, server_default=None)
    op.execute("UPDATE assignment SET round_key = NULL WHERE round_key = ''")

    with op.batch_alter_table('panel_member', schema=None) as batch_op:
        batch_op.add_column(sa.Column('round_key', sa.String(length=40), nullable=True))
    op.execute(
        "UPDATE panel_member SET round_key = (SELECT seat.round_key FROM panel_round AS seat "
        "WHERE seat.member_id = panel_member.id ORDER BY seat.id DESC LIMIT 1)"
    )
    op.drop_table('panel_round')
    _check_foreign_keys()
