"""Repeated samples of AI answers: who they cite, as shares with 95 % Wilson score intervals.

The same prompt to an AI answer engine rarely cites the same sources twice, so a keyword with
``samples = N`` stores N answers per check, and one answer proves little. What this module
says is how often, over a pool of successful samples, an AI placement (``ai_overview``,
``ai_mode``, ``ai_answer``) cites the official side, the critical side, and what share of
all its citations each stance has, each with an interval that is honest about small counts.

Pure: plain data in, plain data out (the store reads the samples, the CLI and the report
format the result). Failed samples are never in a pool: they are not "no citation".

- A *sample* is one successful answer (a sample of a sampled check, or a check of one call).
- ``samples`` (n) of a placement is every successful sample in the pool, whether or not that
  answer showed the placement: Google may or may not show an AI overview, and a sample with
  none cites nobody. ``shown`` says in how many it appeared.
- ``cites_official`` / ``cites_critical``: the share of samples citing at least one source of
  that stance in the placement (binomial over samples: each is a separate answer).
- ``citations``: every source a placement cites, each URL counted once per sample;
  ``by_stance`` is the share of those by stance. Citations of one answer are not independent
  draws, so these intervals are narrower than the truth when answers cite many sources:
  read ``cites_*`` (over samples) for the headline.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .vocabulary import Placement, Stance

__all__ = [
    "AI_PLACEMENTS",
    "Z_95",
    "Interval",
    "PlacementShares",
    "SampleCitations",
    "citation_shares",
    "wilson_interval",
]

#: The placements that are an AI answer's citations, in the order they are reported.
AI_PLACEMENTS: tuple[str, ...] = (Placement.AI_OVERVIEW, Placement.AI_MODE, Placement.AI_ANSWER)

#: The standard normal quantile of a two-sided 95 % interval.
Z_95 = 1.959964

_STANCES = (Stance.OFFICIAL, Stance.CRITICAL, Stance.NEUTRAL)
_DIGITS = 4  # shares and bounds as printed by status --json


def wilson_interval(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval ``(low, high)`` of a proportion ``successes / n``.

    Unlike the normal approximation it stays inside [0, 1] and is not empty at 0 or n
    successes: 0 of 10 gives (0, 0.2775), 5 of 10 gives (0.2366, 0.7634). With ``n = 0``
    nothing is known: (0, 1).
    """
    if n < 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got {successes} of {n}")
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z / (1 + z2 / n) * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    # at 0 or n successes the bound is exactly 0 or 1 (the formula leaves rounding dust)
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high


@dataclass(frozen=True)
class Interval:
    """A share of ``n`` with its Wilson interval."""

    count: int
    n: int

    @property
    def share(self) -> float | None:
        """``count / n`` (None when n is 0)."""
        return self.count / self.n if self.n else None

    def bounds(self) -> tuple[float, float]:
        """The 95 % Wilson interval of the share."""
        return wilson_interval(self.count, self.n)

    def to_json(self) -> dict[str, Any]:
        """``{"count", "share", "low", "high"}``, shares rounded to 4 decimals."""
        low, high = self.bounds()
        share = self.share
        return {
            "count": self.count,
            "share": None if share is None else round(share, _DIGITS),
            "low": round(low, _DIGITS),
            "high": round(high, _DIGITS),
        }


@dataclass(frozen=True)
class SampleCitations:
    """One successful sample: the stance of each source it cites, by AI placement.

    ``cited`` maps a placement to (normalised URL, stance) pairs; a placement the answer did
    not show is absent (or empty).
    """

    check_id: int
    sample: int
    cited: Mapping[str, Sequence[tuple[str, str]]] = field(default_factory=dict)


@dataclass(frozen=True)
class PlacementShares:
    """Who one AI placement cites over a pool of successful samples."""

    placement: str
    samples: int
    shown: Interval
    cites_official: Interval
    cites_critical: Interval
    citations: int
    by_stance: Mapping[str, Interval]

    def to_json(self) -> dict[str, Any]:
        """The ``status --json`` object of one placement (see the module docstring)."""
        return {
            "samples": self.samples,
            "shown": self.shown.to_json(),
            "cites_official": self.cites_official.to_json(),
            "cites_critical": self.cites_critical.to_json(),
            "citations": self.citations,
            "by_stance": {stance: self.by_stance[stance].to_json() for stance in _STANCES},
        }


def citation_shares(samples: Iterable[SampleCitations]) -> dict[str, PlacementShares]:
    """Per AI placement cited at least once in ``samples`` (successful samples only), its
    shares over them, in :data:`AI_PLACEMENTS` order."""
    pool = list(samples)
    found: dict[str, PlacementShares] = {}
    for placement in AI_PLACEMENTS:
        per_sample = [_distinct(s.cited.get(placement, ())) for s in pool]
        citations = [stance for cited in per_sample for stance in cited.values()]
        if not citations:
            continue
        n = len(pool)
        found[placement] = PlacementShares(
            placement=placement,
            samples=n,
            shown=Interval(sum(1 for cited in per_sample if cited), n),
            cites_official=Interval(_citing(per_sample, Stance.OFFICIAL), n),
            cites_critical=Interval(_citing(per_sample, Stance.CRITICAL), n),
            citations=len(citations),
            by_stance={
                stance: Interval(citations.count(stance), len(citations)) for stance in _STANCES
            },
        )
    return found


def _distinct(cited: Sequence[tuple[str, str]]) -> dict[str, str]:
    """Each URL once (its first stance), so a source cited twice in an answer counts once."""
    found: dict[str, str] = {}
    for url, stance in cited:
        found.setdefault(url, stance if stance in _STANCES else Stance.NEUTRAL)
    return found


def _citing(per_sample: Sequence[Mapping[str, str]], stance: str) -> int:
    return sum(1 for cited in per_sample if stance in cited.values())
