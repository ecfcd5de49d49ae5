"""alert events: the daily-cap index covers what the cap counts (suppressed, kind), so the
count of a rule's deliveries of a day reads the index alone, however many events of that
day were kept back

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04

"""
from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0011'
down_revision: Union[str, Sequence[str], None] = '0010'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_RULE_DAY = ['campaign_id', 'rule', 'day']


def upgrade() -> None:
    """Upgrade schema: the index is rebuilt with two more columns (time grows with events)."""
    op.drop_index('ix_alert_events_rule_day', table_name='alert_events')
    op.create_index(
        'ix_alert_events_rule_day', 'alert_events', [*_RULE_DAY, 'suppressed', 'kind'], unique=False
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('ix_alert_events_rule_day', table_name='alert_events')
    op.create_index('ix_alert_events_rule_day', 'alert_events', _RULE_DAY, unique=False)
