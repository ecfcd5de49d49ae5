"""feature index: a partial index of the results that are not organic (ads, news boxes, AI
answers, ...), by check, covering what the reads of a page's features take; a report's
"SERP features" and AI citations then read a check's few feature entries instead of every
result row of the period

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0010'
down_revision: Union[str, Sequence[str], None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_FEATURES = ['check_id', 'sample', 'placement', 'block', 'page_position', 'norm_url']
_NOT_ORGANIC = sa.text("placement <> 'organic'")


def upgrade() -> None:
    """Upgrade schema: one index built, from one pass over the results stored."""
    op.create_index(
        'ix_results_features',
        'results',
        _FEATURES,
        unique=False,
        sqlite_where=_NOT_ORGANIC,
        postgresql_where=_NOT_ORGANIC,
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('ix_results_features', table_name='results')
