"""keyed audit chain: hash version per event, chain head at publication

Revision ID: c4d2a7e91b30
Revises: 88792240d5a7
Create Date: 2026-12-04 14:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4d2a7e91b30'
down_revision = '88792240d5a7'
branch_labels = None
depends_on = None


def upgrade():
    # Existing events keep version 1 (plain sha256); events written from now on are keyed (version 2).
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hash_version', sa.Integer(), server_default='1', nullable=False))

    with op.batch_alter_table('result_snapshot', schema=None) as batch_op:
        batch_op.add_column(sa.Column('published_chain_count', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('published_chain_hash', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('result_snapshot', schema=None) as batch_op:
        batch_op.drop_column('published_chain_hash')
        batch_op.drop_column('published_chain_count')

    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_column('hash_version')
