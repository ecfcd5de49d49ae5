"""The base of answer-engine providers: one prompt, one API call, the sources the answer cites.

An answer engine (Perplexity, OpenAI with web search) is asked the keyword's query, or its
``prompt`` template filled in (:attr:`~serptrack.providers.base.SearchRequest.prompt_text`),
with one authenticated ``POST`` per check; there are no pages. Its cited sources come back as
placement ``ai_answer``. The model is the ``model`` setting under ``[providers.<name>]``. The
keyword's country is sent as the user's approximate location where the API takes one; the
device is ignored (an answer is the same on every device) and a ``location`` is refused.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import httpx

from ..errors import FetchError
from ..vocabulary import Device, Placement
from .base import SearchRequest, SettingError
from .http import HttpProvider

__all__ = ["AnswerEngineProvider"]


class AnswerEngineProvider(HttpProvider):
    """An answer engine behind one bearer-authenticated ``POST`` (:attr:`endpoint`)."""

    answer_engine = True
    placements = (Placement.AI_ANSWER,)
    devices = tuple(Device)  # accepted and ignored: an answer engine has no device
    locations = False
    settings_types: ClassVar[dict[str, type | tuple[type, ...]]] = {
        **HttpProvider.settings_types,
        "model": str,
    }
    #: the model asked when the campaign file sets none
    default_model: ClassVar[str] = ""
    #: the path the request is posted to
    endpoint: ClassVar[str] = ""

    @classmethod
    def check_settings(cls, settings: Mapping[str, Any], base_dir: Path) -> dict[str, Any]:
        """Also check that ``model`` is a model name (no spaces)."""
        resolved = super().check_settings(settings, base_dir)
        model = resolved.get("model")
        if model is not None and (not model.strip() or any(c.isspace() for c in model)):
            raise SettingError(
                f'model {model!r} is not a model name; set model = "{cls.default_model}" or '
                "another model the API lists"
            )
        return resolved

    @property
    def model(self) -> str:
        """The model asked: the ``model`` setting, else :attr:`default_model`."""
        return str(self.settings.get("model") or self.default_model)

    def page_request(
        self,
        client: httpx.AsyncClient,
        request: SearchRequest,
        number: int,
        collected: int,
        previous: Any,
    ) -> httpx.Request | None:
        """``POST <endpoint>`` with :meth:`body`, once: an answer has no second page."""
        if number > 1:
            return None
        (key_name,) = self.key_env
        headers = {"Authorization": f"Bearer {self.keys[key_name]}"}
        return self.build_request(
            client, "POST", self.endpoint, json_body=self.body(request), headers=headers
        )

    @abstractmethod
    def body(self, request: SearchRequest) -> dict[str, Any]:
        """The JSON body that asks :attr:`model` ``request.prompt_text``."""

    def http_error(self, status: int, doc: Any) -> FetchError:
        """A 400 or 404 about the model names the setting to change."""
        error = super().http_error(status, doc)
        if status in (400, 404) and "model" in self.error_message(doc).lower():
            error.args = (f"{error}; check model in [providers.{self.name}] (now {self.model!r})",)
        return error
