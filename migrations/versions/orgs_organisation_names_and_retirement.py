"""organisations: short and English names, retirement

Revision ID: 0a9e5c3d7b21
Revises: b1a7d0c0f1e5
Create Date: 2026-12-04 17:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import judging.models  # noqa: F401 - custom column types (UTCDateTime)


# revision identifiers, used by Alembic.
revision = '0a9e5c3d7b21'
down_revision = 'a7e3c1f09d24'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('organization', schema=None) as batch_op:
        batch_op.add_column(sa.Column('short_name', sa.String(length=100), server_default='', nullable=False))
        batch_op.add_column(sa.Column('english_name', sa.String(length=200), server_default='', nullable=False))
        batch_op.add_column(sa.Column('retired_at', judging.models.UTCDateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('organization', schema=None) as batch_op:
        batch_op.drop_column('retired_at')
        batch_op.drop_column('english_name')
        batch_op.drop_column('short_name')
