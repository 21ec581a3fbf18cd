"""judging rounds

Revision ID: 7c2e9a41d5f3
Revises: f681d5d14808
Create Date: 2026-12-04 20:20:00

"""
from alembic import op
import sqlalchemy as sa

import judging.models  # noqa: F401 - custom column types (UTCDateTime)


# revision identifiers, used by Alembic.
revision = '7c2e9a41d5f3'
down_revision = 'f681d5d14808'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('judging_round',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contest_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('opened_at', judging.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('opened_by_id', sa.Integer(), nullable=True),
    sa.Column('frozen_at', judging.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('frozen_by_id', sa.Integer(), nullable=True),
    sa.Column('rubric_sha256', sa.String(length=64), nullable=True),
    sa.Column('payload', sa.Text(), nullable=True),
    sa.Column('digest', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['contest_id'], ['contest.id'], name=op.f('fk_judging_round_contest_id_contest'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['frozen_by_id'], ['user_account.id'], name=op.f('fk_judging_round_frozen_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['opened_by_id'], ['user_account.id'], name=op.f('fk_judging_round_opened_by_id_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_judging_round')),
    sa.UniqueConstraint('contest_id', 'key', name=op.f('uq_judging_round_contest_id_key'))
    )
    with op.batch_alter_table('judging_round', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_judging_round_contest_id'), ['contest_id'], unique=False)
    with op.batch_alter_table('assignment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('round_key', sa.String(length=40), nullable=True))
    with op.batch_alter_table('panel_member', schema=None) as batch_op:
        batch_op.add_column(sa.Column('round_key', sa.String(length=40), nullable=True))


def downgrade():
    with op.batch_alter_table('panel_member', schema=None) as batch_op:
        batch_op.drop_column('round_key')
    with op.batch_alter_table('assignment', schema=None) as batch_op:
        batch_op.drop_column('round_key')
    with op.batch_alter_table('judging_round', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_judging_round_contest_id'))
    op.drop_table('judging_round')
