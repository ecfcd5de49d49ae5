"""url keys: each distinct result URL's normalised form and registrable domain, kept so that
no process computes them again; url_stances indexed by stance and by rules, so that reads find
a campaign's official and critical URLs without scanning every URL it has met

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0007'
down_revision: Union[str, Sequence[str], None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema. The table fills as checks are stored: the URLs of older checks are
    computed again the first time a new check meets them, as before this revision."""
    op.create_table('url_keys',
    sa.Column('digest', sa.String(), nullable=False),
    sa.Column('url', sa.String(), nullable=False),
    sa.Column('norm_url', sa.String(), nullable=False),
    sa.Column('domain', sa.String(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('digest')
    )
    with op.batch_alter_table('url_stances', schema=None) as batch_op:
        batch_op.create_index(
            'ix_url_stances_stance', ['campaign_id', 'stance', 'rules_hash', 'norm_url'], unique=False
        )
        batch_op.create_index(
            'ix_url_stances_rules', ['campaign_id', 'rules_hash', 'norm_url'], unique=False
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('url_stances', schema=None) as batch_op:
        batch_op.drop_index('ix_url_stances_rules')
        batch_op.drop_index('ix_url_stances_stance')
    op.drop_table('url_keys')
