"""The store: every read and write of a serptrack database.

Modules, in dependency order:

- :mod:`.schema`: typed handles on the tables of :mod:`serptrack.models`;
- :mod:`.engine`: where the database is, opening it, migrating it (``migrations/``);
- :mod:`.stances`: the ``url_stances`` table and the read view of stances;
- :mod:`.claims`: slot claims, so every schedule slot is checked exactly once;
- :mod:`.campaigns`: ``apply`` and the reads of campaigns, keywords and rules;
- :mod:`.checks`: the write path of checks, results and raw pages;
- :mod:`.history`: ``history`` rows;
- :mod:`.reads`: the analysis read model behind status, overtakes, paid, report, suggest.

It depends on :mod:`serptrack.models` and plain data only (:mod:`serptrack.specs`, the lead
core's types), never on campaign-file parsing, providers or parsers. The names below are the
ones commands use; the read model is imported as ``serptrack.store.reads``.
"""

from .campaigns import (
    ApplySummary,
    apply_campaign,
    campaign_keywords,
    campaign_labeller,
    campaign_rules,
    check_summary,
    get_campaign,
    list_campaigns,
)
from .checks import (
    CheckRecord,
    SampleRecord,
    checked_slots,
    done_slots,
    imported_check,
    load_payloads,
    record_check,
    record_checks,
    write_checks,
)
from .engine import connect, database_url, default_db_path, describe_target, schema_revision
from .history import HISTORY_COLUMNS, history_rows

__all__ = [
    "HISTORY_COLUMNS",
    "ApplySummary",
    "CheckRecord",
    "SampleRecord",
    "apply_campaign",
    "campaign_keywords",
    "campaign_labeller",
    "campaign_rules",
    "check_summary",
    "checked_slots",
    "connect",
    "database_url",
    "default_db_path",
    "describe_target",
    "done_slots",
    "get_campaign",
    "history_rows",
    "imported_check",
    "list_campaigns",
    "load_payloads",
    "record_check",
    "record_checks",
    "schema_revision",
    "write_checks",
]
