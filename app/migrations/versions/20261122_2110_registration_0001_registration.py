"""registration: organisation profiles and verification codes

Revision ID: registration_0001
Revises: 315fbebd396d
Create Date: 2026-11-22 21:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'registration_0001'
down_revision = '315fbebd396d'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('organisation_profile',
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('nature', sa.String(length=50), nullable=True),
    sa.Column('phone', sa.String(length=30), nullable=True),
    sa.Column('address', sa.String(length=200), nullable=True),
    sa.Column('principal', sa.String(length=100), nullable=True),
    sa.Column('hr_bureau_id', sa.Integer(), nullable=True),
    sa.Column('licence_attachment_id', sa.Integer(), nullable=True),
    sa.Column('applicant_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_organisation_profile_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['hr_bureau_id'], ['organisation.id'], name=op.f('fk_organisation_profile_hr_bureau_id_organisation')),
    sa.ForeignKeyConstraint(['licence_attachment_id'], ['attachment.id'], name=op.f('fk_organisation_profile_licence_attachment_id_attachment')),
    sa.ForeignKeyConstraint(['applicant_id'], ['user_account.id'], name=op.f('fk_organisation_profile_applicant_id_user_account')),
    sa.PrimaryKeyConstraint('organisation_id', name=op.f('pk_organisation_profile'))
    )
    op.create_table('verification_code',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=32), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('target', sa.String(length=200), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_verification_code'))
    )
    op.create_index('ix_verification_code_purpose_target', 'verification_code',
                    ['purpose', 'target', 'created_at'], unique=False)


def downgrade():
    op.drop_index('ix_verification_code_purpose_target', table_name='verification_code')
    op.drop_table('verification_code')
    op.drop_table('organisation_profile')
