"""certificates and background jobs (task centre)

Revision ID: cert_0001
Revises: archive_0001
Create Date: 2026-11-22 21:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'cert_0001'
down_revision = 'archive_0001'  # this branch merged archive; the integrator re-links the chain
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('certificate',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('id_number', sa.String(length=18), nullable=False),
    sa.Column('unit_name', sa.String(length=200), nullable=False),
    sa.Column('issuer_name', sa.String(length=200), nullable=False),
    sa.Column('public_hours', sa.Numeric(precision=7, scale=1), nullable=False),
    sa.Column('professional_hours', sa.Numeric(precision=7, scale=1), nullable=False),
    sa.Column('elective_hours', sa.Numeric(precision=7, scale=1), nullable=False),
    sa.Column('total_hours', sa.Numeric(precision=7, scale=1), nullable=False),
    sa.Column('result_label', sa.String(length=16), nullable=False),
    sa.Column('issued_by_id', sa.Integer(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.Column('replaced_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['issued_by_id'], ['user_account.id'], name=op.f('fk_certificate_issued_by_id_user_account')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_certificate_person_id_person')),
    sa.ForeignKeyConstraint(['replaced_by_id'], ['certificate.id'], name=op.f('fk_certificate_replaced_by_id_certificate')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificate')),
    sa.UniqueConstraint('number', name=op.f('uq_certificate_number'))
    )
    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.create_index('ix_certificate_person_year', ['person_id', 'year'], unique=False)
        batch_op.create_index('uq_certificate_current', ['person_id', 'year'], unique=True,
                              sqlite_where=sa.text("status = 'valid'"), postgresql_where=sa.text("status = 'valid'"))

    op.create_table('background_job',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('result_path', sa.String(length=300), nullable=True),
    sa.Column('result_name', sa.String(length=200), nullable=True),
    sa.Column('message', sa.Text(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['user_account.id'], name=op.f('fk_background_job_owner_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_background_job'))
    )
    with op.batch_alter_table('background_job', schema=None) as batch_op:
        batch_op.create_index('ix_background_job_owner_created', ['owner_id', 'created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('background_job', schema=None) as batch_op:
        batch_op.drop_index('ix_background_job_owner_created')
    op.drop_table('background_job')
    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.drop_index('uq_certificate_current', sqlite_where=sa.text("status = 'valid'"),
                            postgresql_where=sa.text("status = 'valid'"))
        batch_op.drop_index('ix_certificate_person_year')
    op.drop_table('certificate')
