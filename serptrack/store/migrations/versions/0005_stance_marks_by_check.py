"""stance marks by check: each campaign's mark is the id of its last check whose result URLs
are all in url_stances, so reads test freshness against the campaign's own checks instead of
every result stored

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0005'
down_revision: Union[str, Sequence[str], None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('stance_marks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('check_id', sa.Integer(), nullable=False, server_default='0'))
    # The check of the last result under the old mark: every result up to it was covered.
    # One index lookup per campaign, not a scan of the results.
    op.execute(
        "UPDATE stance_marks SET check_id = COALESCE((SELECT results.check_id FROM results "
        "WHERE results.id <= stance_marks.result_id ORDER BY results.id DESC LIMIT 1), 0)"
    )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('stance_marks', schema=None) as batch_op:
        batch_op.drop_column('check_id')
