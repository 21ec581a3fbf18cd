"""a completed upload is verified by a background job (parts_upload.job_id, parts_upload.refusal)

Revision ID: 9e4b7c21d5a3
Revises: 7c2e9a41d5f3
Create Date: 2026-12-04 20:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9e4b7c21d5a3'
down_revision = '7c2e9a41d5f3'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('parts_upload', schema=None) as batch_op:
        batch_op.add_column(sa.Column('job_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('refusal', sa.Text(), nullable=False, server_default=''))
        batch_op.create_foreign_key(
            batch_op.f('fk_parts_upload_job_id_background_job'), 'background_job', ['job_id'], ['id'], ondelete='SET NULL'
        )


def downgrade():
    with op.batch_alter_table('parts_upload', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_parts_upload_job_id_background_job'), type_='foreignkey')
        batch_op.drop_column('refusal')
        batch_op.drop_column('job_id')
