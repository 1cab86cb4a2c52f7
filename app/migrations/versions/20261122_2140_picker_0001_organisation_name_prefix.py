"""Organisation picker: a prefix index on organisation.name for the type-ahead search.

Revision ID: picker_0001
Revises: bench_0001
Create Date: 2026-11-22 21:40:00
"""
from alembic import op

revision = 'picker_0001'
down_revision = 'bench_0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_organisation_name_prefix', 'organisation', ['name'], unique=False,
                    postgresql_ops={'name': 'varchar_pattern_ops'})


def downgrade():
    op.drop_index('ix_organisation_name_prefix', table_name='organisation')
