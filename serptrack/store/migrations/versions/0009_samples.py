"""samples: a keyword may ask its provider several times per check (keywords.samples); each
answer is a sample of the check (results.sample, payloads.sample, 1 for every row stored
before), and a check sampled more than once records each sample's outcome in check_samples;
the covering index of the lead analysis gains results.sample, so reads of a check's ranking
(sample 1) stay index-only

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0009'
down_revision: Union[str, Sequence[str], None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_COVERING = ['norm_url', 'check_id', 'placement', 'rank', 'page_position', 'block']


def upgrade() -> None:
    """Upgrade schema. Columns are added with a constant default (SQLite's ALTER TABLE ADD
    COLUMN, PostgreSQL's catalog-only default: no table is rewritten); the covering index is
    rebuilt, the one step whose time grows with the results stored."""
    with op.batch_alter_table('keywords', schema=None) as batch_op:
        batch_op.add_column(sa.Column('samples', sa.Integer(), nullable=False, server_default='1'))
    with op.batch_alter_table('results', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sample', sa.Integer(), nullable=False, server_default='1'))
    with op.batch_alter_table('payloads', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sample', sa.Integer(), nullable=False, server_default='1'))
    op.drop_index('ix_results_norm_url_positions', table_name='results')
    op.create_index('ix_results_norm_url_positions', 'results', [*_COVERING, 'sample'], unique=False)
    op.create_table('check_samples',
    sa.Column('check_id', sa.Integer(), nullable=False),
    sa.Column('sample', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(), nullable=False),
    sa.Column('error', sa.String(), nullable=True),
    sa.Column('error_kind', sa.String(), nullable=True),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('result_count', sa.Integer(), nullable=False, server_default='0'),
    sa.ForeignKeyConstraint(['check_id'], ['checks.id'], ),
    sa.PrimaryKeyConstraint('check_id', 'sample')
    )


def downgrade() -> None:
    """Downgrade schema (samples after the first are dropped with their column)."""
    op.drop_table('check_samples')
    op.execute("DELETE FROM results WHERE sample <> 1")
    op.execute("DELETE FROM payloads WHERE sample <> 1")
    op.drop_index('ix_results_norm_url_positions', table_name='results')
    op.create_index('ix_results_norm_url_positions', 'results', _COVERING, unique=False)
    with op.batch_alter_table('payloads', schema=None) as batch_op:
        batch_op.drop_column('sample')
    with op.batch_alter_table('results', schema=None) as batch_op:
        batch_op.drop_column('sample')
    with op.batch_alter_table('keywords', schema=None) as batch_op:
        batch_op.drop_column('samples')
