"""What a command costs before it does anything: CPU of a fresh process, beside its reference.

Issue "Speed", start-up targets, each against the cost of importing what the command truly
needs, measured in the same run:

- `serptrack --help`        <= 3x   `python -c "import click"`
- `serptrack providers`     <= 1.5x `python -c "import click, httpx"`
- `serptrack history --json` on a small database <= 1.3x `import click, sqlmodel`
  (sqlmodel brings SQLAlchemy)

and, for information, `serptrack check` of one replayed keyword beside the same reference.
Each figure is the child's user + system CPU (`getrusage`), min/median/max over `--runs`,
the runs alternating between command and reference so a change in load hits both alike.

    .venv/bin/python benchmarks/bench_startup.py [--runs 9]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

CAMPAIGN = """\
[campaign]
name = "acme"

[providers.replay]
path = "fixtures"

[[keywords]]
query = "acme recall"
provider = "replay"
"""

SNAPSHOT = {
    "format": "serptrack-snapshot/1",
    "query": "acme recall",
    "results": [{"url": "https://acme.example/", "placement": "organic", "rank": 1}],
}


def cpu_of(command: list[str], env: dict[str, str], cwd: Path) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{command} failed: {done.stderr.decode()[-1500:]}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    python = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "campaign.toml").write_text(CAMPAIGN)
        for day in ("2026-03-01", "2026-03-02"):
            (folder / "fixtures" / day).mkdir(parents=True)
            (folder / "fixtures" / day / "acme-recall.json").write_text(json.dumps(SNAPSHOT))
        db = f"sqlite:///{folder / 'serptrack.db'}"
        env = {**os.environ, "SERPTRACK_DB": db}
        serptrack = [python, "-m", "serptrack"]
        subprocess.run([*serptrack, "apply", "campaign.toml"], env=env, cwd=folder, check=True)
        subprocess.run(
            [*serptrack, "check", "--as-of", "2026-03-01T07:00:00Z"],
            env=env,
            cwd=folder,
            check=True,
            capture_output=True,
        )
        cases = [
            ("serptrack --help", [*serptrack, "--help"], "import click", 3.0),
            ("serptrack providers", [*serptrack, "providers"], "import click, httpx", 1.5),
            (
                "serptrack history --json",
                [*serptrack, "history", "acme", "--json"],
                "import click, sqlmodel",
                1.3,
            ),
            (
                "serptrack check (1 replay)",
                [*serptrack, "check", "--as-of", "2026-03-02T07:00:00Z", "--no-alerts"],
                "import click, sqlmodel",
                None,
            ),
        ]
        print(f"CPU seconds of a fresh process, min/median/max over {args.runs} runs")
        for label, command, reference, limit in cases:
            mine, theirs = [], []
            for _ in range(args.runs):
                mine.append(cpu_of(command, env, folder))
                theirs.append(cpu_of([python, "-c", reference], env, folder))
            ratio = statistics.median(mine) / statistics.median(theirs)
            target = f"target <= {limit}x -> {ratio / limit:.2f} of it" if limit else "(no target)"
            print(
                f"  {label:<28} {_spread(mine)}  | {reference!r}: {_spread(theirs)}"
                f"  | {ratio:.2f}x  {target}"
            )


def _spread(values: list[float]) -> str:
    return "/".join(f"{v:.3f}" for v in (min(values), statistics.median(values), max(values)))


if __name__ == "__main__":
    main()
