"""blind copies of entry files, document text and organisation aliases

Revision ID: b1a7d0c0f1e5
Revises: 4b1f97eef63c
Create Date: 2026-12-04 14:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b1a7d0c0f1e5'
down_revision = '4b1f97eef63c'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('entry_file', schema=None) as batch_op:
        batch_op.add_column(sa.Column('blind_key', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('blind_size_bytes', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('blind_sha256', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('document_text', sa.Text(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_entry_file_blind_key'), ['blind_key'])

    with op.batch_alter_table('organization', schema=None) as batch_op:
        batch_op.add_column(sa.Column('aliases', sa.JSON(), server_default='[]', nullable=False))


def downgrade():
    with op.batch_alter_table('organization', schema=None) as batch_op:
        batch_op.drop_column('aliases')

    with op.batch_alter_table('entry_file', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_entry_file_blind_key'), type_='unique')
        batch_op.drop_column('document_text')
        batch_op.drop_column('blind_sha256')
        batch_op.drop_column('blind_size_bytes')
        batch_op.drop_column('blind_key')
