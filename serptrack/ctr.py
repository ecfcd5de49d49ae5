"""Click-through-rate curves: how much attention each position on a result page gets.

A curve is data, not code: a TOML or JSON file with ``name``, ``title``, ``source``, ``date``
(``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``), ``url``, ``positions`` (the CTR in percent at
positions 1, 2, ...) and optional ``notes``. Published curves ship in ``serptrack/data/ctr``;
a campaign picks one by name or points at its own file (``[analysis] ctr_curve``), and every
output that uses a curve names it. Positions beyond the end of a curve weigh nothing.
"""

from __future__ import annotations

import functools
import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import CurveError

__all__ = [
    "DEFAULT_CURVE",
    "CtrCurve",
    "builtin_curve",
    "builtin_names",
    "curve_from_settings",
    "load_curve_file",
    "parse_curve",
    "resolve_curve_setting",
]

DEFAULT_CURVE = "sistrix-2020"

_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
_KEYS = {"name", "title", "source", "date", "url", "positions", "notes"}
_MAX_POSITIONS = 100


@dataclass(frozen=True)
class CtrCurve:
    """A CTR curve: percent of clicks at positions 1..n, with where it comes from."""

    name: str
    source: str
    date: str
    positions: tuple[float, ...]
    title: str = ""
    url: str = ""
    notes: str = ""
    builtin: bool = False

    def weight(self, position: int) -> float:
        """The CTR (percent) at a 1-based position; 0 beyond the curve."""
        return self.positions[position - 1] if 1 <= position <= len(self.positions) else 0.0

    def describe(self) -> dict[str, Any]:
        """The curve as shown in outputs: name, title, source, date, url, positions, builtin."""
        return {
            "name": self.name,
            "title": self.title,
            "source": self.source,
            "date": self.date,
            "url": self.url,
            "positions": list(self.positions),
            "builtin": self.builtin,
        }

    def to_settings(self) -> dict[str, Any]:
        """The curve as stored in a campaign's settings (a user curve is stored whole)."""
        return {
            "name": self.name,
            "title": self.title,
            "source": self.source,
            "date": self.date,
            "url": self.url,
            "positions": list(self.positions),
            "notes": self.notes,
        }


def builtin_names() -> list[str]:
    """The names of the curves shipped with serptrack."""
    return list(_builtin_names())


@functools.cache
def _builtin_names() -> tuple[str, ...]:
    entries = _data_dir().iterdir()
    return tuple(sorted(e.name.removesuffix(".toml") for e in entries if e.name.endswith(".toml")))


def builtin_curve(name: str) -> CtrCurve:
    """The shipped curve called ``name``, or an error listing the known ones."""
    if name not in builtin_names():
        raise CurveError(
            f"unknown CTR curve {name!r}; use one of {', '.join(builtin_names())} "
            "or the path of a .toml or .json curve file"
        )
    text = (_data_dir() / f"{name}.toml").read_text(encoding="utf-8")
    curve = parse_curve(tomllib.loads(text), f"built-in curve {name}")
    return CtrCurve(**{**curve.__dict__, "builtin": True})


def load_curve_file(path: Path) -> CtrCurve:
    """Read and validate a user's curve file (TOML or JSON, by its extension)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CurveError(f"CTR curve file {path} does not exist; check the path") from None
    except (OSError, UnicodeDecodeError) as error:
        raise CurveError(f"CTR curve file {path} cannot be read ({error})") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as error:
        raise CurveError(
            f"CTR curve file {path} is not valid {path.suffix[1:].upper()}: {error}"
        ) from None
    if not isinstance(data, Mapping):
        raise CurveError(
            f"CTR curve file {path} must hold one table/object, not {type(data).__name__}"
        )
    curve = parse_curve(data, f"CTR curve file {path}")
    if curve.name in builtin_names():
        raise CurveError(
            f"CTR curve file {path} is named {curve.name!r}, like a built-in curve; give it another name"
        )
    return curve


def parse_curve(data: Mapping[str, Any], where: str) -> CtrCurve:
    """Validate a curve document; ``where`` names it in error messages."""
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise CurveError(
            f"{where}: unknown key {unknown[0]!r}; a curve has {', '.join(sorted(_KEYS))}"
        )
    for key in ("name", "source", "date", "positions"):
        if key not in data:
            raise CurveError(f"{where}: '{key}' is required")
    for key in ("name", "title", "source", "date", "url", "notes"):
        if key in data and not isinstance(data[key], str):
            raise CurveError(f"{where}: '{key}' must be a string")
    name = data["name"]
    if not _NAME.match(name):
        raise CurveError(
            f"{where}: name {name!r} may only use lower-case letters, digits, '.', '_' and '-'"
        )
    if not data["source"].strip():
        raise CurveError(f"{where}: 'source' is empty; say where the numbers come from")
    if not _DATE.match(data["date"]):
        raise CurveError(f"{where}: date {data['date']!r} is not YYYY, YYYY-MM or YYYY-MM-DD")
    positions = data["positions"]
    if not isinstance(positions, list) or not 1 <= len(positions) <= _MAX_POSITIONS:
        raise CurveError(
            f"{where}: 'positions' must be a list of 1 to {_MAX_POSITIONS} percentages"
        )
    for index, value in enumerate(positions, start=1):
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
            raise CurveError(
                f"{where}: position {index} is {value!r}; use a percentage from 0 to 100"
            )
    if not any(positions):
        raise CurveError(f"{where}: every position is 0; a curve needs at least one click")
    return CtrCurve(
        name=name,
        title=data.get("title") or name,
        source=data["source"].strip(),
        date=data["date"],
        url=data.get("url", ""),
        positions=tuple(float(value) for value in positions),
        notes=data.get("notes", ""),
    )


def resolve_curve_setting(value: str, base_dir: Path) -> str | dict[str, Any]:
    """What a campaign's ``ctr_curve`` stores: a built-in name, or a user curve read whole.

    A user curve is copied into the campaign at ``apply`` so later analysis never depends on
    the file still being there; a path is relative to the campaign file.
    """
    if value in builtin_names():
        return value
    if not value.lower().endswith((".toml", ".json")) and "/" not in value and "\\" not in value:
        builtin_curve(value)  # raises the error listing the known names
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = base_dir / path
    return {**load_curve_file(path).to_settings(), "file": str(path)}


def curve_from_settings(settings: Mapping[str, Any] | None) -> CtrCurve:
    """The curve a campaign's stored settings name (the default when none is set)."""
    stored = ((settings or {}).get("analysis") or {}).get("ctr_curve") or DEFAULT_CURVE
    if isinstance(stored, str):
        return builtin_curve(stored)
    fields = {key: value for key, value in stored.items() if key in _KEYS}
    return parse_curve(fields, f"the campaign's CTR curve {stored.get('name')!r}")


def _data_dir() -> Any:
    return resources.files("serptrack") / "data" / "ctr"
