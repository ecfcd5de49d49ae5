"""url stances: each campaign's distinct result URLs with their stance, for analysis in SQL

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0002'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('url_stances',
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('norm_url', sa.String(), nullable=False),
    sa.Column('stance', sa.String(), nullable=False),
    sa.Column('rule', sa.String(), nullable=True),
    sa.Column('rules_hash', sa.String(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], ),
    sa.PrimaryKeyConstraint('campaign_id', 'norm_url')
    )
    op.create_table('stance_marks',
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('result_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], ),
    sa.PrimaryKeyConstraint('campaign_id')
    )
    # Covers the lead analysis: its join from a campaign's official and critical URLs reads
    # index entries only, never the wide result rows.
    with op.batch_alter_table('results', schema=None) as batch_op:
        batch_op.create_index('ix_results_norm_url_positions', ['norm_url', 'check_id', 'placement', 'rank', 'page_position', 'block'], unique=False)

    # Every URL already stored gets a row, marked stale (empty rules_hash): serptrack labels
    # stale rows with the campaign's rules before any analysis reads them. Matching itself
    # lives in serptrack.classify only, never here.
    op.execute(
        "INSERT INTO url_stances (campaign_id, norm_url, stance, rule, rules_hash) "
        "SELECT DISTINCT keywords.campaign_id, results.norm_url, 'neutral', NULL, '' "
        "FROM results JOIN checks ON checks.id = results.check_id "
        "JOIN keywords ON keywords.id = checks.keyword_id"
    )
    op.execute(
        "INSERT INTO stance_marks (campaign_id, result_id) "
        "SELECT campaigns.id, COALESCE((SELECT MAX(results.id) FROM results), 0) FROM campaigns"
    )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('results', schema=None) as batch_op:
        batch_op.drop_index('ix_results_norm_url_positions')

    op.drop_table('stance_marks')
    op.drop_table('url_stances')
