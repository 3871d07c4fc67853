"""One model factory: settings in, a langchain-core chat model out.

No module-level clients: tests pass their own model to ``build_graph`` instead.
"""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel

from agent.settings import Settings


def load_chat_model(settings: Settings) -> BaseChatModel:
    """The chat model for ``settings.backend`` (nothing is loaded or contacted yet)."""
    if settings.backend == "openai":
        from agent.models.calling import reply_cap
        from agent.models.openai_backend import LingshuChatOpenAI

        return LingshuChatOpenAI(
            model=settings.model,
            base_url=settings.base_url,
            api_key=settings.api_key,
            temperature=settings.temperature,
            top_p=settings.top_p,
            max_completion_tokens=settings.max_new_tokens,
            timeout=settings.request_timeout_s,
            max_retries=settings.connect_retries,
            # vLLM takes sampling extras in the request body.
            extra_body={"repetition_penalty": settings.repetition_penalty},
            constrained_tools=settings.constrained_tools,
            max_reply_chars=reply_cap(settings.max_new_tokens),
        )
    if settings.backend == "transformers":
        from agent.models.transformers_backend import TransformersChatModel

        return TransformersChatModel.from_settings(settings)
    raise ValueError(f"unknown backend {settings.backend!r}; use 'openai' or 'transformers'")
