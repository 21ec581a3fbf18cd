"""a reopened report's own deadline (entry.reopened_until, collection contests)

Revision ID: f681d5d14808
Revises: cecb0c690d60
Create Date: 2026-12-04 20:20:00.000000

"""
from alembic import op
import sqlalchemy as sa

import judging.models


# revision identifiers, used by Alembic.
revision = 'f681d5d14808'
down_revision = 'cecb0c690d60'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('entry', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reopened_until', judging.models.UTCDateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('entry', schema=None) as batch_op:
        batch_op.drop_column('reopened_until')
