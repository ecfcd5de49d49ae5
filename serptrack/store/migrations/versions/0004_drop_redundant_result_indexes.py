"""drop result indexes nothing reads: ix_results_norm_url is a prefix of the covering
ix_results_norm_url_positions, and no query filters results by domain; each index costs
every stored result row a b-tree insert.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25

"""
from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('results', schema=None) as batch_op:
        batch_op.drop_index('ix_results_norm_url')
        batch_op.drop_index('ix_results_domain')


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('results', schema=None) as batch_op:
        batch_op.create_index('ix_results_domain', ['domain'], unique=False)
        batch_op.create_index('ix_results_norm_url', ['norm_url'], unique=False)
