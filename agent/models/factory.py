"""One model factory: settings in, a langchain-core chat model out.

This is the one place that turns ``Settings`` into model arguments. An OpenAI-wire
endpoint (base URL, model, key, tool-calling mode) is an :class:`Endpoint`; the
reasoning model's comes from ``endpoint(settings)``, and a second model (a planner) is
one more ``load_chat_model(settings, Endpoint(...))``. No module-level clients: tests
pass their own model to ``build_graph`` instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel

from agent.settings import Settings


@dataclass(frozen=True)
class Endpoint:
    """An OpenAI-compatible model server and the model it serves."""

    base_url: str
    model: str
    api_key: str = "EMPTY"
    tool_calling: Literal["prompted", "native"] = "prompted"
    """How the graph offers tools to this model (the model client itself does not read it)."""


def endpoint(settings: Settings) -> Endpoint:
    """The reasoning model's endpoint (``LINGSHU_BASE_URL``, ``_MODEL``, ``_API_KEY``)."""
    return Endpoint(
        base_url=settings.base_url,
        model=settings.model,
        api_key=settings.api_key,
        tool_calling=settings.tool_calling,
    )


def client_kwargs(settings: Settings, at: Endpoint | None = None) -> dict[str, Any]:
    """Arguments for an ``openai.OpenAI``/``AsyncOpenAI`` client of ``at`` (default: the
    reasoning model's endpoint): its URL, key, request timeout and retries."""
    at = at or endpoint(settings)
    return {
        "base_url": at.base_url,
        "api_key": at.api_key,
        "timeout": settings.request_timeout_s,
        "max_retries": settings.connect_retries,
    }


def openai_model_kwargs(settings: Settings, at: Endpoint | None = None) -> dict[str, Any]:
    """Arguments for :class:`~agent.models.openai_backend.LingshuChatOpenAI` (a
    ``ChatOpenAI`` takes the same, less the last two) for ``at``."""
    from agent.models.calling import reply_cap

    at = at or endpoint(settings)
    return {
        **client_kwargs(settings, at),
        "model": at.model,
        "temperature": settings.temperature,
        "top_p": settings.top_p,
        "max_completion_tokens": settings.max_new_tokens,
        # vLLM takes sampling extras in the request body.
        "extra_body": {"repetition_penalty": settings.repetition_penalty},
        "constrained_tools": settings.constrained_tools,
        "max_reply_chars": reply_cap(settings.max_new_tokens),
    }


def load_chat_model(settings: Settings, at: Endpoint | None = None) -> BaseChatModel:
    """The chat model for ``settings.backend`` (nothing is loaded or contacted yet).

    ``at``: an OpenAI-wire endpoint other than the reasoning model's (e.g. a planner);
    it is always served over the OpenAI wire, whatever ``settings.backend`` says."""
    if settings.backend == "openai" or at is not None:
        from agent.models.openai_backend import LingshuChatOpenAI

        return LingshuChatOpenAI(**openai_model_kwargs(settings, at))
    if settings.backend == "transformers":
        from agent.models.transformers_backend import TransformersChatModel

        return TransformersChatModel.from_settings(settings)
    raise ValueError(f"unknown backend {settings.backend!r}; use 'openai' or 'transformers'")
