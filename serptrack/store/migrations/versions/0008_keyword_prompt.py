"""keyword prompt: the prompt template an answer-engine keyword sends ("" sends the query)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0008'
down_revision: Union[str, Sequence[str], None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema. Every existing keyword asks its query itself, as before."""
    with op.batch_alter_table('keywords', schema=None) as batch_op:
        batch_op.add_column(sa.Column('prompt', sa.String(), server_default='', nullable=False))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('keywords', schema=None) as batch_op:
        batch_op.drop_column('prompt')
