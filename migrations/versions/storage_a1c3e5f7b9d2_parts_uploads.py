"""resumable uploads in parts (parts_upload)

Revision ID: a1c3e5f7b9d2
Revises: b1a7d0c0f1e5
Create Date: 2026-12-04 17:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a1c3e5f7b9d2'
down_revision = 'e7d1c0a2b4f6'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'parts_upload',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token', sa.String(length=32), nullable=False),
        sa.Column('entry_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('original_name', sa.String(length=255), nullable=False),
        sa.Column('size_bytes', sa.BigInteger(), nullable=False),
        sa.Column('part_size', sa.BigInteger(), nullable=False),
        sa.Column('reference', sa.String(length=255), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['entry_id'], ['entry.id'], name=op.f('fk_parts_upload_entry_id_entry'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_parts_upload_user_id_user_account'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_parts_upload')),
        sa.UniqueConstraint('token', name=op.f('uq_parts_upload_token')),
    )
    with op.batch_alter_table('parts_upload', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_parts_upload_entry_id'), ['entry_id'], unique=False)


def downgrade():
    with op.batch_alter_table('parts_upload', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_parts_upload_entry_id'))
    op.drop_table('parts_upload')
