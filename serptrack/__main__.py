"""``python -m serptrack``: the same command line as the ``serptrack`` script."""

from .cli import cli

cli(prog_name="serptrack")
