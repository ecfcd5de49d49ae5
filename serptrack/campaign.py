"""Campaign files (TOML, SPEC section 2): read, validate and resolve, without touching a database.

:func:`load_campaign_file` returns a :class:`CampaignSpec` or raises
:class:`~serptrack.errors.CampaignFileError` naming the file, the key (and its line where it can
be found) and what is wrong.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import re
import tomllib
import unicodedata
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .alerts.settings import (
    DEFAULT_DAILY_CAP,
    AlertSettingError,
    AlertSettings,
    alert_warnings,
    check_alerts,
)
from .classify import Rule, RuleError, duplicate_patterns, parse_rule
from .ctr import DEFAULT_CURVE, resolve_curve_setting
from .errors import CampaignFileError, CurveError, ReportError, ScheduleError, SerptrackError
from .providers import PROVIDERS, Provider, SettingError, provider_class
from .providers.dataforseo import COUNTRY_CODES, DataForSeoProvider
from .schedule import parse_schedule, parse_timezone
from .specs import MAX_SAMPLES, MIN_SAMPLES, AnnotationSpec, CampaignSpec, KeywordSpec
from .vocabulary import Device, Ownership

__all__ = [
    "LOGO_TYPES",
    "AnnotationSpec",
    "CampaignSpec",
    "KeywordSpec",
    "check_accent",
    "check_country",
    "check_language",
    "check_logo",
    "check_prompt",
    "check_query",
    "load_campaign_file",
    "logo_path",
    "logo_reference",
    "parse_campaign",
]

_NAME = re.compile(r"^[A-Za-z0-9-]+$")
_ACCENT = re.compile(r"^#[0-9a-fA-F]{6}$")
#: logo file suffix → (MIME type, how the file starts); a logo is embedded in every report
LOGO_TYPES: dict[str, tuple[str, tuple[bytes, ...]]] = {
    ".png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    ".jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".gif": ("image/gif", (b"GIF87a", b"GIF89a")),
    ".webp": ("image/webp", (b"RIFF",)),
    ".svg": ("image/svg+xml", ()),
}
_LOGO_MAX_BYTES = 1_000_000
#: Google's own limit on a query's length, in characters
MAX_QUERY_LENGTH = 2048
#: ISO 3166-1 codes people write that ISO does not assign, and the assigned one
_COUNTRY_ALIASES = {"uk": "gb"}
#: ISO 639-1 codes withdrawn in 1989 (Google still knows some), and their successors
_WITHDRAWN_LANGUAGES = {"iw": "he", "in": "id", "ji": "yi", "jw": "jv", "mo": "ro"}
#: UN M.49 regions a language may carry besides a country: Latin America (Google's es-419)
_M49_REGIONS = frozenset({"419"})
#: how much of a query a message quotes
_SHOWN_QUERY = 60
#: a table header line, ``[defaults]`` or ``[[keywords]]``, with spaces and a comment allowed
_HEADER = re.compile(r"^\[(?P<array>\[?)\s*(?P<name>[A-Za-z0-9_.-]+)\s*\]\]?\s*(#.*)?$")
_NAMED_CONTROLS = {
    "\x00": "a NUL",
    "\t": "a tab",
    "\n": "a newline",
    "\r": "a carriage return",
    "\u2028": "a line separator",
    "\u2029": "a paragraph separator",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class _KeywordFields(_Strict):
    provider: str | None = None
    engine: str | None = None
    country: str | None = None
    language: str | None = None
    # lax for this field only: strict mode takes nothing but Device members, never a string
    device: Device | None = Field(default=None, strict=False)
    location: str | None = None
    depth: int | None = Field(default=None, ge=1, le=500)
    samples: int | None = None
    schedule: str | None = None
    timezone: str | None = None
    tags: list[str] | None = None
    prompt: str | None = None  # answer engines only: what they are asked, "{query}" the query

    @field_validator("prompt")
    @classmethod
    def _prompt(cls, value: str | None) -> str | None:
        return check_prompt(value) if value is not None else None

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse_schedule(value)
            except ScheduleError as error:
                raise ValueError(str(error)) from None
        return value

    @field_validator("samples")
    @classmethod
    def _samples(cls, value: int | None) -> int | None:
        if value is not None and not MIN_SAMPLES <= value <= MAX_SAMPLES:
            raise ValueError(
                f"samples must be from {MIN_SAMPLES} to {MAX_SAMPLES} (got {value}): the "
                f"provider calls one check makes; set samples = 3 to 5 for an answer engine, "
                f"1 for a result page"
            )
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse_timezone(value)
            except ScheduleError as error:
                raise ValueError(str(error)) from None
        return value

    @field_validator("engine")
    @classmethod
    def _lower(cls, value: str | None) -> str | None:
        return value.strip().lower() if value is not None else None

    @field_validator("country")
    @classmethod
    def _country(cls, value: str | None) -> str | None:
        return check_country(value) if value is not None else None

    @field_validator("language")
    @classmethod
    def _language(cls, value: str | None) -> str | None:
        return check_language(value) if value is not None else None


class _KeywordTable(_KeywordFields):
    query: str

    @field_validator("query")
    @classmethod
    def _query(cls, value: str) -> str:
        return check_query(value)


class _CampaignTable(_Strict):
    name: str
    brand: str = ""
    description: str = ""
    crisis_start: dt.date | None = None
    domains: list[str] = []  # the brand's own hosts, for `labels suggest`
    accounts: list[str] = []  # the brand's accounts elsewhere (twitter.com/acme_help)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(f"campaign name {value!r} may only use letters, digits and '-'")
        return value


class _AnnotationTable(_Strict):
    date: dt.date
    text: str = Field(min_length=1)
    query: str | None = None


class _OwnershipTable(_Strict):
    owned: list[str] = []
    earned: list[str] = []
    third_party: list[str] = []
    hostile: list[str] = []


class _LabelsTable(_Strict):
    official: list[str] = []
    critical: list[str] = []
    neutral: list[str] = []
    ownership: _OwnershipTable = _OwnershipTable()


class _AnalysisTable(_Strict):
    ctr_curve: str = DEFAULT_CURVE  # a built-in curve name or a curve file path


class _ReportTable(_Strict):
    agency: str = ""
    client: str = ""
    logo: str | None = None  # an image file, relative to the campaign file
    accent: str | None = None  # #rrggbb
    notice: str = ""  # a banner on every report (e.g. "illustrative data")

    @field_validator("accent")
    @classmethod
    def _accent(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                return check_accent(value)
            except ReportError as error:
                raise ValueError(str(error)) from None
        return value


class _ChannelTable(_Strict):
    type: Literal["webhook", "slack", "email"]
    url_env: str | None = None
    secret_env: str | None = None
    allow_private: bool = False
    to: list[str] | None = Field(default=None, min_length=1)
    sender: str | None = Field(default=None, alias="from")
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    starttls: bool = True
    username: str | None = None
    password_env: str | None = None


class _AlertRuleTable(_Strict):
    on: str
    name: str | None = None
    view: Literal["organic", "page", "both"] = "both"
    hold: int = Field(default=1, ge=1, le=100)
    top: int = Field(default=3, ge=1, le=100)
    points: float = Field(default=10.0, gt=0, le=100)
    after: int = Field(default=2, ge=1, le=100)
    channels: list[str] = Field(min_length=1)
    queries: list[str] = []


class _AlertsTable(_Strict):
    cooldown: str | int = 0
    daily_cap: int = Field(default=DEFAULT_DAILY_CAP, ge=1)
    channels: dict[str, _ChannelTable] = {}
    rules: list[_AlertRuleTable] = []


class _CampaignDocument(_Strict):
    campaign: _CampaignTable
    defaults: _KeywordFields = _KeywordFields()
    providers: dict[str, dict[str, Any]] = {}
    keywords: list[_KeywordTable] = Field(min_length=1)
    labels: _LabelsTable = _LabelsTable()
    annotations: list[_AnnotationTable] = []
    analysis: _AnalysisTable = _AnalysisTable()
    report: _ReportTable = _ReportTable()
    alerts: _AlertsTable = _AlertsTable()


_BUILTIN_DEFAULTS: dict[str, Any] = {
    "engine": "google",
    "country": "",
    "language": "",
    "device": Device.DESKTOP,
    "location": "",
    "depth": 10,
    "samples": 1,
    "schedule": "1d",
    "timezone": "UTC",
    "tags": [],
    "prompt": "",
}


def load_campaign_file(
    path: str | Path, *, environ: Mapping[str, str] | None = None
) -> CampaignSpec:
    """Read and validate a campaign file (``environ``, default the process's: for key warnings)."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CampaignFileError(str(path), None, "no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise CampaignFileError(str(path), None, f"cannot be read ({error})") from None
    return parse_campaign(text, str(path), base_dir=file.resolve().parent, environ=environ)


def parse_campaign(
    text: str, path: str, *, base_dir: Path, environ: Mapping[str, str] | None = None
) -> CampaignSpec:
    """Validate a campaign file's text; ``path`` is only used in messages.

    A provider whose API key is missing from ``environ`` (default: the process's environment)
    is no error, since checks may run on another machine: it becomes one of the spec's
    ``warnings``.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise CampaignFileError(path, None, f"TOML syntax error: {error}") from None
    try:
        doc = _CampaignDocument.model_validate(data)
    except ValidationError as error:
        raise _file_error(path, text, data, error) from None
    providers = _resolve_providers(path, doc, base_dir)
    keywords = _resolve_keywords(path, text, doc, providers)
    rules = _resolve_rules(path, text, doc.labels)
    ownership = _resolve_ownership(path, text, doc.labels.ownership)
    domains, accounts = _resolve_brand(path, text, doc.campaign)
    try:
        ctr_curve = resolve_curve_setting(doc.analysis.ctr_curve, base_dir)
    except CurveError as error:
        where = f"analysis.ctr_curve{_line_suffix(text, ['analysis', 'ctr_curve'])}"
        raise CampaignFileError(path, where, str(error)) from None
    alerts = _resolve_alerts(path, text, doc.alerts, keywords)
    report = doc.report.model_dump()
    if doc.report.logo is not None:
        try:
            report["logo"] = logo_reference(
                check_logo(Path(doc.report.logo).expanduser(), base_dir)
            )
        except ReportError as error:
            where = f"report.logo{_line_suffix(text, ['report', 'logo'])}"
            raise CampaignFileError(path, where, str(error)) from None
    return CampaignSpec(
        name=doc.campaign.name,
        path=str(Path(path).resolve()) if Path(path).exists() else path,
        brand=doc.campaign.brand,
        description=doc.campaign.description,
        crisis_start=doc.campaign.crisis_start,
        keywords=keywords,
        rules=rules,
        ownership=ownership,
        annotations=[AnnotationSpec(a.date, a.text, a.query) for a in doc.annotations],
        providers=providers,
        domains=domains,
        accounts=accounts,
        ctr_curve=ctr_curve,
        report=report,
        alerts=alerts,
        warnings=[
            *_key_warnings(keywords, os.environ if environ is None else environ),
            *alert_warnings(alerts, os.environ if environ is None else environ),
        ],
    )


def check_accent(value: str) -> str:
    """A report accent colour: ``#rrggbb``, returned lower-case."""
    if not _ACCENT.match(value):
        raise ReportError(f"accent colour {value!r} is not #rrggbb (e.g. #1f4e79)")
    return value.lower()


def check_country(value: str) -> str:
    """A keyword's country: an ISO 3166-1 alpha-2 code, returned lower-case; "" is unspecified.

    Raises ``ValueError`` with a suggestion when the value names a country another way
    (``"france"``, ``"fra"``, ``"uk"``).
    """
    code = value.strip().lower()
    if not code or _is_country(code):
        return code
    raise ValueError(
        f"{value!r} is not an ISO 3166-1 alpha-2 country code{_did_you_mean(_country_hint(code))}"
    )


def check_language(value: str) -> str:
    """A keyword's language: ISO 639-1, optionally with a region (``pt-br``), lower-case.

    "" is unspecified. Raises ``ValueError`` with a suggestion when it can make one
    (``"english"`` → ``en``, ``"pt_BR"`` → ``pt-br``).
    """
    code = value.strip().lower()
    if not code:
        return code
    base, dash, region = code.replace("_", "-").partition("-")
    if "_" not in code and _is_language(base) and (not dash or _is_region(region)):
        return code
    base_hint = base if _is_language(base) else _language_hint(base)
    region_hint = region if not dash or _is_region(region) else _country_hint(region)
    hint = None
    if base_hint and (region_hint or not dash):
        hint = f"{base_hint}-{region_hint}" if dash else base_hint
    raise ValueError(
        f"{value!r} is not an ISO 639-1 language code, optionally with a region "
        f'(e.g. "pt-br"){_did_you_mean(hint)}'
    )


def check_query(value: str) -> str:
    """A keyword's query: one line of at most :data:`MAX_QUERY_LENGTH` characters, not blank.

    Raises ``ValueError`` for a blank query, a newline, a NUL or any other control character.
    """
    for char in value:
        if unicodedata.category(char) == "Cc" or char in _NAMED_CONTROLS:
            what = _NAMED_CONTROLS.get(char, "a control character")
            raise ValueError(
                f"query contains {what} (U+{ord(char):04X}); a query is one line of search terms"
            )
    length = len(value.strip())
    if not length:
        raise ValueError("query is blank; write the search terms to track")
    if length > MAX_QUERY_LENGTH:
        raise ValueError(
            f"query is {length:,} characters long; search engines take at most {MAX_QUERY_LENGTH:,}"
        )
    return value


# pycountry is imported where it is used: reports import this module for check_logo alone.


def check_prompt(value: str) -> str:
    """A prompt template for answer engines: text with ``{query}`` and no other brace, or ""
    (ask the query itself: how a keyword undoes a ``[defaults]`` prompt)."""
    template = value.strip()
    if not template:
        return ""
    example = 'e.g. prompt = "What happened with {query}?"'
    if "{query}" not in template:
        raise ValueError(f"a prompt must say where the query goes with {{query}}; {example}")
    others = template.replace("{query}", "")
    if "{" in others or "}" in others:
        raise ValueError(
            f"a prompt may hold no brace but those of {{query}}; remove the others ({example})"
        )
    return template


def _is_country(code: str) -> bool:
    import pycountry

    return (
        len(code) == 2
        and code.isascii()
        and code.isalpha()
        and pycountry.countries.get(alpha_2=code.upper()) is not None
    )


def _is_language(code: str) -> bool:
    import pycountry

    return (
        len(code) == 2
        and code.isascii()
        and code.isalpha()
        and pycountry.languages.get(alpha_2=code) is not None
    )


def _is_region(code: str) -> bool:
    return _is_country(code) or code in _M49_REGIONS


def _country_hint(value: str) -> str | None:
    """The alpha-2 code of a country written by name, alpha-3 or number, if there is one."""
    import pycountry

    if value in _COUNTRY_ALIASES:
        return _COUNTRY_ALIASES[value]
    try:
        country = pycountry.countries.lookup(value)
    except LookupError:
        return None
    return str(country.alpha_2).lower()


def _language_hint(value: str) -> str | None:
    """The ISO 639-1 code of a language written by name or ISO 639-2/3 code, if it has one."""
    import pycountry

    if value in _WITHDRAWN_LANGUAGES:
        return _WITHDRAWN_LANGUAGES[value]
    try:
        language = pycountry.languages.lookup(value)
    except LookupError:
        return None
    code = getattr(language, "alpha_2", None)
    return str(code) if code else None


def _did_you_mean(hint: str | None) -> str:
    return f'; did you mean "{hint}"?' if hint else ""


_PACKAGE = Path(__file__).resolve().parent
_RESOURCE = "resource:"


def logo_reference(path: Path) -> str:
    """How a logo is stored: a file shipped with serptrack by name (``resource:data/...``, so a
    rebuilt virtualenv still finds it), any other file by absolute path."""
    if path.is_relative_to(_PACKAGE):
        return _RESOURCE + path.relative_to(_PACKAGE).as_posix()
    return str(path)


def logo_path(reference: str) -> Path:
    """The file a stored logo reference names (see :func:`logo_reference`)."""
    if reference.startswith(_RESOURCE):
        return _PACKAGE / reference.removeprefix(_RESOURCE)
    return Path(reference)


def check_logo(path: Path, base_dir: Path | None = None) -> Path:
    """A usable logo file (relative paths from ``base_dir``), as an absolute path."""
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    path = path.resolve()
    kind = LOGO_TYPES.get(path.suffix.lower())
    if kind is None:
        raise ReportError(
            f"logo {path} is not an image serptrack can embed; use a "
            f"{', '.join(sorted(LOGO_TYPES))} file"
        )
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ReportError(f"logo file {path} does not exist; check the path") from None
    except OSError as error:
        raise ReportError(f"logo file {path} cannot be read ({error.strerror})") from None
    if len(data) > _LOGO_MAX_BYTES:
        raise ReportError(
            f"logo file {path} is {len(data) / 1e6:.1f} MB; use an image under 1 MB "
            "(it is embedded in every report)"
        )
    starts = kind[1]
    looks_right = data.startswith(starts) if starts else b"<svg" in data[:4096]
    if not looks_right:
        raise ReportError(f"logo file {path} is not a valid {path.suffix[1:].upper()} image")
    return path


def _resolve_brand(path: str, text: str, table: _CampaignTable) -> tuple[list[str], list[str]]:
    """The brand's hosts and account URLs in normalised form (parsed as classify does)."""
    resolved: dict[str, list[str]] = {"domains": [], "accounts": []}
    for key, kind, wanted in (
        ("domains", "host", "a host such as acme.example"),
        ("accounts", "url", "an account URL such as twitter.com/acme_help"),
    ):
        for index, pattern in enumerate(getattr(table, key)):
            try:
                rule = parse_rule("official", pattern)
            except RuleError:
                rule = None
            if rule is None or rule.kind != kind:
                where = f"campaign.{key}[{index}]{_line_of_value(text, pattern)}"
                raise CampaignFileError(path, where, f"{pattern!r} is not {wanted}")
            resolved[key].append(rule.key)
    return resolved["domains"], resolved["accounts"]


def _resolve_providers(
    path: str, doc: _CampaignDocument, base_dir: Path
) -> dict[str, dict[str, Any]]:
    resolved = {}
    for name, settings in doc.providers.items():
        where = f"providers.{name}"
        try:
            cls = provider_class(name)
            resolved[name] = cls.check_settings(settings, base_dir)
        except (SerptrackError, SettingError) as error:
            raise CampaignFileError(path, where, str(error)) from None
    return resolved


def _resolve_keywords(
    path: str, text: str, doc: _CampaignDocument, providers: Mapping[str, Mapping[str, Any]]
) -> list[KeywordSpec]:
    defaults = {**_BUILTIN_DEFAULTS, **doc.defaults.model_dump(exclude_none=True)}
    if doc.defaults.provider is not None:
        # A typo here is an error even when every keyword names its own provider.
        try:
            provider_class(doc.defaults.provider)
        except SerptrackError as error:
            located = f"defaults.provider{_line_suffix(text, ['defaults', 'provider'])}"
            raise CampaignFileError(path, located, str(error)) from None
    keywords: list[KeywordSpec] = []
    seen: dict[tuple[str, ...], int] = {}
    for index, table in enumerate(doc.keywords):
        values = {**defaults, **table.model_dump(exclude_none=True)}
        # Where the keyword is in the file: found only for a message (a scan per keyword is O(n^2)).
        where = functools.partial(_keyword_where, text, index, table.query)
        provider = values.get("provider")
        if not provider:
            raise CampaignFileError(
                path, where(), "no provider: set 'provider' here or in [defaults]"
            )
        try:
            cls = provider_class(provider)
        except SerptrackError as error:
            raise CampaignFileError(path, f"{where()}: provider", str(error)) from None
        for setting in cls.required_settings:
            if setting not in providers.get(provider, {}):
                raise CampaignFileError(
                    path,
                    where(),
                    f"provider {provider!r} needs '{setting}' in [providers.{provider}]",
                )
        if table.prompt and not cls.answer_engine:
            raise CampaignFileError(
                path,
                where(),
                f"prompt is for answer engines ({', '.join(_answer_engines())}), not provider "
                f"{provider!r}; remove prompt from this keyword",
            )
        engine = values["engine"]
        if cls.answer_engine and table.engine is None and doc.defaults.engine is None:
            engine = cls.engines[0]  # "google", the built-in default, is no answer engine's
        spec = KeywordSpec(
            query=table.query.strip(),
            provider=provider,
            engine=engine,
            country=values["country"],
            language=values["language"],
            device=values["device"],
            location=values["location"],
            depth=values["depth"],
            samples=values["samples"],
            schedule=values["schedule"],
            timezone=values["timezone"],
            tags=tuple(values["tags"]),
            prompt=values["prompt"] if cls.answer_engine else "",
        )
        unsupported = _unsupported(cls, spec, providers.get(provider, {}))
        if unsupported is not None:
            key, problem, fix = unsupported
            origin = _setting_origin(text, doc, index, table, key, values[key])
            raise CampaignFileError(path, where(), f"{problem} ({origin}); {fix}")
        if spec.identity in seen:
            raise CampaignFileError(
                path,
                where(),
                f"the same keyword as keywords #{seen[spec.identity] + 1} (same query, engine, locale and device)",
            )
        seen[spec.identity] = index
        keywords.append(spec)
    return keywords


def _unsupported(
    cls: type[Provider], spec: KeywordSpec, settings: Mapping[str, Any]
) -> tuple[str, str, str] | None:
    """(the setting, what the provider cannot do, the fix) when ``cls`` cannot serve ``spec``.

    The same verdicts a check would reach (failure kind ``unsupported``), read from the
    provider's class attributes: ``engines``, ``devices`` and ``locations``.
    """
    who = _provider_label(cls)
    if spec.engine not in cls.engines:
        able = _able(lambda other: spec.engine in other.engines, spec.engine)
        return (
            "engine",
            f"{who} serves only {', '.join(cls.engines)} results, not {spec.engine}",
            f'set engine = "{cls.engines[0]}"{_or_use(able, f"serves {spec.engine}")}',
        )
    devices: tuple[str, ...] = getattr(cls, "devices", tuple(Device))
    if spec.device not in devices:
        able = _able(
            lambda other: spec.device in getattr(other, "devices", tuple(Device)), spec.engine
        )
        return (
            "device",
            f"{who} cannot emulate a {spec.device} search, only {', '.join(devices)}",
            f'set device = "{devices[0]}"{_or_use(able, "can")}',
        )
    if spec.location and not getattr(cls, "locations", True):
        able = _able(lambda other: getattr(other, "locations", True), spec.engine)
        return (
            "location",
            f"{who} cannot target a location",
            f"remove location{_or_use(able, 'can')}",
        )
    if issubclass(cls, DataForSeoProvider) and not spec.location:
        country = spec.country or "us"  # what the provider asks for when none is set
        if "location_code" not in settings and country not in COUNTRY_CODES:
            return (
                "country",
                f"{who} knows no location code for country {country!r}",
                'set location (e.g. "Reykjavik,Iceland") on the keyword or location_code '
                f"in [providers.{cls.name}]",
            )
    return None


def _provider_label(cls: type[Provider]) -> str:
    label = getattr(cls, "label", "")
    return f"provider {cls.name!r} ({label})" if label else f"provider {cls.name!r}"


def _able(can: Callable[[type[Provider]], bool], engine: str) -> list[str]:
    """The live providers (HTTP APIs) that ``can``, by name; an answer engine only for its
    own engine (it serves no search engine's page, whatever device or location it takes)."""
    return sorted(
        name
        for name, cls in PROVIDERS.items()
        if cls.uses_http and (not cls.answer_engine or engine in cls.engines) and can(cls)
    )


def _answer_engines() -> list[str]:
    return sorted(name for name, cls in PROVIDERS.items() if cls.answer_engine)


def _or_use(able: list[str], verb: str) -> str:
    return f" or use a provider that {verb}: {', '.join(able)}" if able else ""


def _setting_origin(
    text: str, doc: _CampaignDocument, index: int, table: _KeywordTable, key: str, value: Any
) -> str:
    """Where a keyword's setting comes from: ``device = "mobile", line 12`` and the like."""
    shown = f"{key} = {json.dumps(str(value), ensure_ascii=False)}"
    if getattr(table, key) is not None:
        line = _find_line(text, ["keywords", str(index), key])
        return f"{shown}, line {line}" if line else shown
    if getattr(doc.defaults, key) is not None:
        line = _find_line(text, ["defaults", key])
        return f"{shown} in [defaults], line {line}" if line else f"{shown} in [defaults]"
    return f"{shown}, the built-in default"


def _key_warnings(keywords: list[KeywordSpec], environ: Mapping[str, str]) -> list[str]:
    """One line per provider whose API key this environment lacks (checks may run elsewhere)."""
    counts: dict[str, int] = {}
    for keyword in keywords:
        counts[keyword.provider] = counts.get(keyword.provider, 0) + 1
    warnings = []
    for name, count in counts.items():
        missing = provider_class(name).missing_keys(environ)
        if missing:
            what = "keyword" if count == 1 else "keywords"
            warnings.append(
                f"provider {name!r} needs {' and '.join(missing)} in the environment to check "
                f"its {count} {what}; set it where checks run (export {missing[0]}=...)"
            )
    return warnings


def _resolve_alerts(
    path: str, text: str, table: _AlertsTable, keywords: list[KeywordSpec]
) -> AlertSettings:
    """The ``[alerts]`` tables checked as a whole (kinds, channels, variables, queries)."""
    channels = {
        name: {
            **channel.model_dump(exclude_unset=True, by_alias=False),
            "type": channel.type,
        }
        for name, channel in table.channels.items()
    }
    rules = [rule.model_dump(exclude_unset=True) for rule in table.rules]
    try:
        return check_alerts(
            table.cooldown,
            table.daily_cap,
            channels,
            rules,
            {keyword.query for keyword in keywords},
        )
    except AlertSettingError as error:
        raise CampaignFileError(path, _alert_where(text, error.where), str(error)) from None


def _alert_where(text: str, loc: tuple[str, ...]) -> str:
    """``alerts.rules #2.top (line 40)`` and the like, for a key of the ``[alerts]`` tables."""
    if len(loc) > 1 and loc[0] == "rules" and loc[1].isdigit():
        line = _find_line(text, ["alerts.rules", *loc[1:]])
        located = ".".join([f"alerts.rules #{int(loc[1]) + 1}", *loc[2:]])
    elif len(loc) > 1 and loc[0] == "channels":
        line = _find_line(text, [f"alerts.channels.{loc[1]}", *loc[2:]])
        located = ".".join(["alerts", *loc])
    else:
        line = _find_line(text, ["alerts", *loc])
        located = ".".join(["alerts", *loc])
    return located + (f" (line {line})" if line else "")


def _resolve_rules(path: str, text: str, labels: _LabelsTable) -> list[Rule]:
    """The ``[labels]`` rules, by stance."""
    return _resolve_patterns(path, text, labels, ("official", "critical", "neutral"), "labels")


def _resolve_ownership(path: str, text: str, table: _OwnershipTable) -> list[Rule]:
    """The ``[labels.ownership]`` rules: the label-rule patterns, one class per pattern."""
    classes = tuple(member.value for member in Ownership)
    return _resolve_patterns(path, text, table, classes, "labels.ownership")


def _resolve_patterns(
    path: str, text: str, table: _Strict, classes: tuple[str, ...], where: str
) -> list[Rule]:
    """The rules of ``table``'s pattern lists, one per class in ``classes``; a pattern under
    two classes is refused."""
    rules = []
    for name in classes:
        for index, pattern in enumerate(getattr(table, name)):
            try:
                rules.append(parse_rule(name, pattern, classes))
            except RuleError as error:
                line = _line_of_value(text, pattern)
                raise CampaignFileError(
                    path, f"{where}.{name}[{index}]{line}", str(error)
                ) from None
    for first, second in duplicate_patterns(rules):
        raise CampaignFileError(
            path,
            f"{where}{_line_of_value(text, second.pattern)}",
            f"pattern {second.pattern!r} is under both {first.stance} and {second.stance}; keep one",
        )
    return rules


def _file_error(
    path: str, text: str, data: Mapping[str, Any], error: ValidationError
) -> CampaignFileError:
    first = error.errors()[0]
    loc = [str(part) for part in first["loc"]]
    kind = first["type"]
    if loc[0] == "alerts" and len(loc) > 1 and kind != "extra_forbidden":
        message = first["msg"].removeprefix("Value error, ")
        if "input" in first and kind not in ("value_error", "missing"):
            message += f" (got {first['input']!r})"
        return CampaignFileError(path, _alert_where(text, tuple(loc[1:])), message)
    if kind == "extra_forbidden":
        key = loc[-1]
        where = _describe_loc(text, data, loc[:-1])
        return CampaignFileError(
            path, where or None, f"unknown key {key!r}{_line_suffix(text, loc)}"
        )
    if kind == "missing":
        where = _describe_loc(text, data, loc)
        return CampaignFileError(path, where, "is required")
    where = _describe_loc(text, data, loc) + _line_suffix(text, loc)
    message = first["msg"].removeprefix("Value error, ")
    if "input" in first and kind != "value_error":
        message += f" (got {first['input']!r})"
    return CampaignFileError(path, where, message)


def _describe_loc(text: str, data: Mapping[str, Any], loc: list[str]) -> str:
    if len(loc) >= 2 and loc[0] in ("keywords", "annotations") and loc[1].isdigit():
        index = int(loc[1])
        items = data.get(loc[0]) or []
        label = f"{loc[0]} #{index + 1}"
        item = items[index] if index < len(items) else None
        if isinstance(item, dict) and isinstance(item.get("query"), str) and loc[0] == "keywords":
            label += f" ({_shown_query(item['query'])})"
        return ".".join([label, *loc[2:]]) if loc[2:] else label
    return ".".join(loc)


def _shown_query(query: str) -> str:
    """A query as messages quote it: its repr (one line whatever it holds), cut when long."""
    return repr(query if len(query) <= _SHOWN_QUERY else query[: _SHOWN_QUERY - 3] + "...")


def _line_suffix(text: str, loc: list[str]) -> str:
    line = _find_line(text, loc)
    return f" (line {line})" if line else ""


def _lines(text: str) -> list[str]:
    """The TOML lines: only a newline ends one (``str.splitlines`` also splits at U+2028 ...)."""
    return text.split("\n")


def _find_line(text: str, loc: list[str]) -> int | None:
    """The line of the key at ``loc`` in the TOML text, when it can be found simply."""
    lines = _lines(text)
    if not loc:
        return None
    start = 0
    end = len(lines)
    table, rest = loc[0], loc[1:]
    if rest and rest[0].isdigit():
        headers = [i for i, line in enumerate(lines) if _is_header(line, table, array=True)]
        index = int(rest[0])
        if index >= len(headers):
            return None
        start, rest = headers[index], rest[1:]
    else:
        header = next((i for i, line in enumerate(lines) if _is_header(line, table)), None)
        if header is None:
            return None
        start = header
    key = re.compile(rf"""["']?{re.escape(rest[0])}["']?\s*=""") if rest else None
    for i in range(start + 1, end):
        stripped = lines[i].strip()
        if _HEADER.match(stripped):
            break
        if key is not None and key.match(stripped):
            return i + 1
    return start + 1


def _is_header(line: str, table: str, *, array: bool = False) -> bool:
    """Whether ``line`` opens ``[table]`` (or ``[[table]]``), spaces and a comment allowed."""
    found = _HEADER.match(line.strip())
    return found is not None and found["name"] == table and bool(found["array"]) == array


def _keyword_where(text: str, index: int, query: str) -> str:
    line = _find_line(text, ["keywords", str(index)])
    suffix = f", line {line}" if line else ""
    return f"keywords #{index + 1} ({_shown_query(query)}{suffix})"


def _line_of_value(text: str, value: str) -> str:
    needle = f'"{value}"'
    for number, line in enumerate(_lines(text), start=1):
        if needle in line or f"'{value}'" in line:
            return f" (line {number})"
    return ""
