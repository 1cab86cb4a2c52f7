"""person: the Guangdong fields and department; import_job / import_row (the import centre); bind_request
(a person asks to be bound to a unit)

Revision ID: people_0001
Revises: training_0001
Create Date: 2026-12-03 13:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'people_0001'
down_revision = 'training_0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('import_job',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('file_name', sa.String(length=200), nullable=False),
    sa.Column('upload_path', sa.String(length=300), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('succeeded', sa.Integer(), nullable=False),
    sa.Column('failed', sa.Integer(), nullable=False),
    sa.Column('success_path', sa.String(length=300), nullable=True),
    sa.Column('failure_path', sa.String(length=300), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['job_id'], ['background_job.id'], name=op.f('fk_import_job_job_id_background_job')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_import_job_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['owner_id'], ['user_account.id'], name=op.f('fk_import_job_owner_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_job')),
    sa.UniqueConstraint('job_id', name=op.f('uq_import_job_job_id'))
    )
    with op.batch_alter_table('import_job', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_import_job_owner_id'), ['owner_id'], unique=False)

    op.create_table('bind_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user_account.id'], name=op.f('fk_bind_request_decided_by_id_user_account')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_bind_request_person_id_person')),
    sa.ForeignKeyConstraint(['unit_id'], ['organisation.id'], name=op.f('fk_bind_request_unit_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bind_request'))
    )
    with op.batch_alter_table('bind_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bind_request_person_id'), ['person_id'], unique=False)
        batch_op.create_index('ix_bind_request_unit_status', ['unit_id', 'status'], unique=False)

    op.create_table('import_row',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('row_no', sa.Integer(), nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['import_id'], ['import_job.id'], name=op.f('fk_import_row_import_id_import_job')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_row')),
    sa.UniqueConstraint('import_id', 'row_no', name='uq_import_row_import_id_row_no')
    )
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.add_column(sa.Column('birth_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('ethnicity', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('native_place', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('degree', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('school', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('graduation_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('qualification_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('phone', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('email', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('address', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('department_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_person_department_id'), ['department_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_person_department_id_department'), 'department', ['department_id'], ['id'])



def downgrade():
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_person_department_id_department'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_person_department_id'))
        batch_op.drop_column('department_id')
        batch_op.drop_column('address')
        batch_op.drop_column('email')
        batch_op.drop_column('phone')
        batch_op.drop_column('qualification_date')
        batch_op.drop_column('graduation_date')
        batch_op.drop_column('school')
        batch_op.drop_column('degree')
        batch_op.drop_column('native_place')
        batch_op.drop_column('ethnicity')
        batch_op.drop_column('birth_date')

    op.drop_table('import_row')
    with op.batch_alter_table('bind_request', schema=None) as batch_op:
        batch_op.drop_index('ix_bind_request_unit_status')
        batch_op.drop_index(batch_op.f('ix_bind_request_person_id'))

    op.drop_table('bind_request')
    with op.batch_alter_table('import_job', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_import_job_owner_id'))

    op.drop_table('import_job')
