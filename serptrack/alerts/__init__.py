"""Crisis alerts (SPEC section 7): rules and channels, the events a stored check fires, and
their delivery by webhook, Slack and email.

- :mod:`.settings`: the ``[alerts]`` tables of a campaign file as plain data;
- :mod:`.events`: the pure core: a keyword's alert memory, and the events a check fires;
- :mod:`.message`: one event as it is delivered (the webhook body, Slack and email text);
- :mod:`.channels`: one module-level sender per channel type, and the retrying delivery.
"""
