"""Before/after in one run: the ``--baseline REV`` option shared by the benchmarks.

With ``--baseline REV`` a benchmark measures the same workload on two versions of serptrack
in the same run. "Before" is revision REV, checked out as a detached git worktree at
``/tmp/serptrack-baseline-<sha7>`` (created on first use with ``git worktree add --detach``,
then reused; remove it with ``git worktree remove``). "After" is the working tree that holds
the benchmark script itself, uncommitted edits included.

Each side is a worker process: the *current* benchmark script run with ``--worker`` by the
same Python, its ``PYTHONPATH`` putting that side's tree first, so ``import serptrack``
resolves to that version's code. The worker starts through a bootstrap that first removes
the editable install's import hook (setuptools' ``__editable__`` finder, which sits after
``PYTHONPATH`` but would still serve a module the old tree lacks, such as
``serptrack.store``, from the working tree); the worker reports ``serptrack.__file__`` at start
and every ``serptrack`` module it has loaded at the end, and the parent stops with an error
unless all lie inside that side's tree. The timing code is thus the
current script's own functions in both; where the library API differs between versions the
script carries a small compatibility branch. The parent asks for one timed run at a time and
alternates the sides, A B A B ... (before first), so a change in machine load during the run
hits both alike; both workers stay alive throughout, so each side's first run is its cold one,
as in a run without ``--baseline``.

Data: the two versions cannot share one database file. The working tree may carry Alembic
migrations that REV does not know, and REV's ``storage.connect`` refuses a database written
by a newer schema (while the newer code would upgrade an older file in place). So each side
builds its own copy of the same generated data (the generators are deterministic), with the
current script's builder running on that side's library: "after" in ``$SERPTRACK_BENCH_DIR``
(default ``/tmp/serptrack-bench``), the very file a run without ``--baseline`` uses, and
"before" in ``$SERPTRACK_BENCH_DIR/baseline-<sha12>``. Each cache is built once and reused;
``--rebuild`` rebuilds both. The parent checks that both copies hold as many checks and
results.

Worker protocol: one JSON object per line on stdin (``{"op": name, ...arguments}``), one JSON
reply per line on the worker's original stdout (``{"ok": value}`` or ``{"error": traceback}``);
whatever the benchmark code prints goes to stderr instead.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import subprocess
import sys
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import IO, Any

WORKTREE_PARENT = Path("/tmp")


def first_module(attribute: str, *names: str) -> ModuleType:
    """The first module of ``names`` that imports and has ``attribute``.

    For library modules that moved between the revisions compared: the benchmark names the new
    place first and the old one after it, so the same code runs on both.
    """
    for name in names:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if hasattr(module, attribute):
            return module
    raise ImportError(f"none of {', '.join(names)} has {attribute}")


def prepare_cache(
    path: Path,
    build: Callable[[Path], None],
    rows: int,
    connect: Callable[[str], Any],
    *,
    rebuild: bool = False,
) -> dict[str, Any]:
    """Build the cached database at ``path`` if missing (or asked to), then say what it holds.

    The build writes ``<path>.partial`` and renames it once whole, so a failed or interrupted
    build leaves no cache behind.
    """
    if rebuild or not path.exists():
        partial = path.with_name(f"{path.name}.partial")
        for base in (path, partial):
            for suffix in ("", "-wal", "-shm"):
                Path(f"{base}{suffix}").unlink(missing_ok=True)
        print(f"Building {path} ({rows:,} result rows) ...", file=sys.stderr)
        build(partial)
        for suffix in ("-wal", "-shm", ""):  # the database file last
            if Path(f"{partial}{suffix}").exists():
                Path(f"{partial}{suffix}").replace(f"{path}{suffix}")
    engine = connect(str(path))
    with engine.connect() as connection:
        counted = connection.exec_driver_sql("SELECT COUNT(*) FROM results").scalar_one()
        checks = connection.exec_driver_sql("SELECT COUNT(*) FROM checks").scalar_one()
    engine.dispose()
    return {"path": str(path), "bytes": os.path.getsize(path), "checks": checks, "rows": counted}


def bench_dir() -> Path:
    """Where the benchmark databases are cached: ``$SERPTRACK_BENCH_DIR``, created if missing."""
    folder = Path(os.environ.get("SERPTRACK_BENCH_DIR", "/tmp/serptrack-bench"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def add_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--baseline REV`` and the internal ``--worker`` to a benchmark's parser."""
    parser.add_argument(
        "--baseline",
        metavar="REV",
        help="also measure git revision REV (from a worktree under /tmp) in the same run, "
        "interleaved with the working tree, and print before, after and after/before",
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)


# Runs ``python SCRIPT --worker`` with only PYTHONPATH deciding where serptrack comes from.
_BOOTSTRAP = """
import os, runpy, sys
sys.meta_path[:] = [f for f in sys.meta_path if not f.__module__.startswith("__editable__")]
sys.argv = sys.argv[1:]
sys.path[0] = os.path.dirname(os.path.abspath(sys.argv[0]))
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def _loaded() -> dict[str, str]:
    """Every serptrack module loaded so far, with its file."""
    return {
        name: str(getattr(module, "__file__", None))
        for name, module in list(sys.modules.items())
        if name == "serptrack" or name.startswith("serptrack.")
    }


def serve(ops: Mapping[str, Callable[..., Any]]) -> int:
    """Answer the parent's requests until stdin closes (the ``--worker`` side)."""
    replies: IO[str] = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # stray prints must not break replies
    sys.stdout = sys.stderr
    import serptrack

    handlers = {"hello": lambda: {"serptrack": serptrack.__file__}, "loaded": _loaded, **ops}
    for line in sys.stdin:
        request = json.loads(line)
        try:
            reply = {"ok": handlers[request.pop("op")](**request)}
        except Exception:  # noqa: BLE001  (any failure goes back to the parent as text)
            reply = {"error": traceback.format_exc()}
        replies.write(json.dumps(reply) + "\n")
    return 0


class WorkerError(RuntimeError):
    """A request failed in a worker, or the worker died."""


@dataclass
class Side:
    """One version of serptrack, measured in a worker process."""

    name: str  # "before" or "after"
    title: str  # what the side is: the revision, or "working tree"
    root: Path  # the tree whose serptrack/ the worker imports
    data: Path  # the worker's $SERPTRACK_BENCH_DIR
    module: str = ""  # serptrack.__file__ as the worker resolved it
    process: subprocess.Popen[str] | None = field(default=None, repr=False)

    def start(self, script: Path) -> None:
        """Start the worker and check which serptrack it imports."""
        path = [str(self.root), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(path),
            "SERPTRACK_BENCH_DIR": str(self.data),
        }
        self.process = subprocess.Popen(
            [sys.executable, "-c", _BOOTSTRAP, str(script), "--worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.module = self.call("hello")["serptrack"]
        self.check_modules()

    def check_modules(self) -> None:
        """Fail unless every serptrack module the worker loaded comes from this side's tree."""
        root = self.root.resolve()
        strays = {
            name: file
            for name, file in self.call("loaded").items()
            if not Path(file).resolve().is_relative_to(root)
        }
        if strays:
            listed = ", ".join(f"{name} from {file}" for name, file in sorted(strays.items()))
            raise WorkerError(f"{self.name} worker loaded serptrack code outside {root}: {listed}")

    def call(self, op: str, **arguments: Any) -> Any:
        """Send one request and wait for its reply."""
        assert self.process is not None and self.process.stdin and self.process.stdout
        self.process.stdin.write(json.dumps({"op": op, **arguments}) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise WorkerError(f"{self.name} worker exited (status {self.process.wait()})")
        reply = json.loads(line)
        if "error" in reply:
            raise WorkerError(f"{self.name} ({self.title}) failed on {op}:\n{reply['error']}")
        return reply["ok"]

    def stop(self) -> None:
        """Close the worker's stdin and wait for it to end."""
        if self.process is None:
            return
        if self.process.stdin:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(cwd), *args], capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise WorkerError(f"git {' '.join(args)} in {cwd} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def worktree(repo: Path, rev: str) -> tuple[str, Path]:
    """The commit ``rev`` names and a detached worktree of it under /tmp (made if missing)."""
    sha = _git(repo, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    path = WORKTREE_PARENT / f"serptrack-baseline-{sha[:7]}"
    if not path.exists():
        print(f"Creating worktree {path} at {sha[:12]} ...", file=sys.stderr)
        _git(repo, "worktree", "prune")  # forget a worktree whose folder was deleted
        _git(repo, "worktree", "add", "--detach", str(path), sha)
    elif _git(path, "rev-parse", "HEAD") != sha:
        raise WorkerError(f"{path} exists but is not at {sha}: remove it (git worktree remove)")
    return sha, path


@contextmanager
def sides(script: str, rev: str) -> Iterator[tuple[Side, Side]]:
    """Start the before (``rev``) and after (working tree) workers; stop them on exit."""
    path = Path(script).resolve()
    repo = Path(_git(path.parent, "rev-parse", "--show-toplevel"))
    sha, tree = worktree(repo, rev)
    folder = bench_dir()
    label = rev if sha.startswith(rev) else f"{rev} = {sha[:7]}"
    before = Side("before", label, tree, folder / f"baseline-{sha[:12]}")
    after = Side("after", "working tree", repo, folder)
    try:
        for side in (before, after):
            side.data.mkdir(parents=True, exist_ok=True)
            side.start(path)
            print(f"{side.name:<6} = {side.title}: serptrack from {side.module}")
        yield before, after
        for side in (before, after):
            side.check_modules()
    finally:
        for side in (before, after):
            side.stop()


def alternate(pair: Sequence[Side], runs: int, op: str, **arguments: Any) -> list[list[Any]]:
    """``runs`` replies to the same request from each side, asked in turns: A B A B ..."""
    replies: list[list[Any]] = [[] for _ in pair]
    for _ in range(runs):
        for side, got in zip(pair, replies, strict=True):
            got.append(side.call(op, **arguments))
    return replies


def spread(seconds: Sequence[float]) -> str:
    """First, median and best of a list of timings."""
    return (
        f"first {seconds[0]:5.2f} s  median {statistics.median(seconds):5.2f} s  "
        f"best {min(seconds):5.2f} s"
    )


def ratio(after: float, before: float) -> float:
    """after / before, infinite when before is zero."""
    return after / before if before else float("inf")
