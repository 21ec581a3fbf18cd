"""background jobs say they are alive while they run: heartbeat_at, heartbeat_seconds

Revision ID: b2e4f6a8c0d1
Revises: a7c3e1f09b42
Create Date: 2026-12-05 03:50:00.000000

"""
from alembic import op
import sqlalchemy as sa

import judging.models


# revision identifiers, used by Alembic.
revision = 'b2e4f6a8c0d1'
down_revision = 'a7c3e1f09b42'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('background_job', schema=None) as batch_op:
        batch_op.add_column(sa.Column('heartbeat_at', judging.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('heartbeat_seconds', sa.Float(), nullable=True))


def downgrade():
    with op.batch_alter_table('background_job', schema=None) as batch_op:
        batch_op.drop_column('heartbeat_seconds')
        batch_op.drop_column('heartbeat_at')
