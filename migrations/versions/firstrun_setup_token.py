"""one-time setup token of the first-run page

Revision ID: f1a57c0de001
Revises: b1a7d0c0f1e5
Create Date: 2026-12-04 17:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import judging.models


# revision identifiers, used by Alembic.
revision = 'f1a57c0de001'
down_revision = 'a1c3e5f7b9d2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'setup_token',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', judging.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', judging.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('used_at', judging.models.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_setup_token')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_setup_token_token_hash')),
    )


def downgrade():
    op.drop_table('setup_token')
