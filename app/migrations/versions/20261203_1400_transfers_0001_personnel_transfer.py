"""personnel_transfer: one row per transfer case (人员调转)

Revision ID: transfers_0001
Revises: people_0001
Create Date: 2026-12-03 14:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'transfers_0001'
down_revision = 'people_0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('personnel_transfer',
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('from_unit_id', sa.Integer(), nullable=False),
    sa.Column('to_unit_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('transfer_date', sa.Date(), nullable=True),
    sa.Column('remarks', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('moved_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['from_unit_id'], ['organisation.id'], name=op.f('fk_personnel_transfer_from_unit_id_organisation')),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_personnel_transfer_instance_id_process_instance')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_personnel_transfer_person_id_person')),
    sa.ForeignKeyConstraint(['to_unit_id'], ['organisation.id'], name=op.f('fk_personnel_transfer_to_unit_id_organisation')),
    sa.PrimaryKeyConstraint('instance_id', name=op.f('pk_personnel_transfer'))
    )
    with op.batch_alter_table('personnel_transfer', schema=None) as batch_op:
        batch_op.create_index('ix_personnel_transfer_from_unit', ['from_unit_id', 'instance_id'], unique=False)
        batch_op.create_index('ix_personnel_transfer_to_unit', ['to_unit_id', 'instance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_personnel_transfer_person_id'), ['person_id'], unique=False)


def downgrade():
    with op.batch_alter_table('personnel_transfer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_personnel_transfer_person_id'))
        batch_op.drop_index('ix_personnel_transfer_to_unit')
        batch_op.drop_index('ix_personnel_transfer_from_unit')
    op.drop_table('personnel_transfer')
