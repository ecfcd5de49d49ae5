"""slot claims: exactly one check per keyword and schedule slot, across processes and machines

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('slot_claims',
    sa.Column('keyword_id', sa.Integer(), nullable=False),
    sa.Column('slot', sa.DateTime(timezone=True), nullable=False),
    sa.Column('worker', sa.String(), nullable=False),
    sa.Column('token', sa.String(), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=False),
    sa.Column('check_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['keyword_id'], ['keywords.id'], ),
    sa.ForeignKeyConstraint(['check_id'], ['checks.id'], ),
    sa.PrimaryKeyConstraint('keyword_id', 'slot')
    )
    with op.batch_alter_table('slot_claims', schema=None) as batch_op:
        batch_op.create_index('ix_slot_claims_token', ['token'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('slot_claims', schema=None) as batch_op:
        batch_op.drop_index('ix_slot_claims_token')
    op.drop_table('slot_claims')
