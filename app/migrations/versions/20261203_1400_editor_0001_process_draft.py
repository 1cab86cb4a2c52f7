"""process_draft: an administrator's unfinished edit of an approval chain, kept until deployed or discarded;
decision_version: decision tables deployed from the browser

Revision ID: editor_0001
Revises: transfers_0001
Create Date: 2026-12-03 14:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'editor_0001'
down_revision = 'transfers_0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('process_draft',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('process_key', sa.String(length=64), nullable=False),
    sa.Column('bpmn_xml', sa.Text(), nullable=False),
    sa.Column('base_version', sa.Integer(), nullable=True),
    sa.Column('saved_by_id', sa.Integer(), nullable=True),
    sa.Column('saved_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['saved_by_id'], ['user_account.id'], name=op.f('fk_process_draft_saved_by_id_user_account'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_process_draft')),
    sa.UniqueConstraint('process_key', name=op.f('uq_process_draft_process_key'))
    )

    op.create_table('decision_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('decision_key', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('dmn_xml', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('deployed_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['deployed_by_id'], ['user_account.id'],
                            name=op.f('fk_decision_version_deployed_by_id_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_decision_version')),
    sa.UniqueConstraint('decision_key', 'content_hash', name=op.f('uq_decision_version_decision_key_content_hash')),
    sa.UniqueConstraint('decision_key', 'version', name=op.f('uq_decision_version_decision_key_version'))
    )
    with op.batch_alter_table('decision_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_decision_version_decision_key'), ['decision_key'], unique=False)


def downgrade():
    op.drop_table('decision_version')
    op.drop_table('process_draft')
