"""The store: every read and write of a serptrack database.

It owns the typed table handles (:mod:`.schema`), the stance table and its read view
(:mod:`.stances`) and the analysis read model (:mod:`.reads`). It depends on
:mod:`serptrack.models` and plain data only (specs, the lead core's types), never on
campaign-file parsing, providers or parsers.
"""
