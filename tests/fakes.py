"""One scripted chat model for graph tests, parametrised per test."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field

Step = str | AIMessage | BaseException | Callable[[list[BaseMessage]], Any]


def call(name: str, **arguments: Any) -> str:
    """A Hermes ``<tool_call>`` block as Lingshu would write it."""
    payload = json.dumps({"name": name, "arguments": arguments})
    return f"<tool_call>\n{payload}\n</tool_call>"


class ScriptedChatModel(BaseChatModel):
    """Replies from ``script`` in order and records every prompt it was sent.

    A step is reply text, a ready ``AIMessage``, an exception to raise, or a
    function of the prompt returning one of those.
    """

    script: list[Any] = Field(default_factory=list)
    prompts: list[list[BaseMessage]] = Field(default_factory=list)
    stops: list[Any] = Field(default_factory=list)
    bound_tools: list[Any] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self.prompts.append(list(messages))
        self.stops.append(stop)
        if not self.script:
            raise AssertionError(f"the script ran out after {len(self.prompts) - 1} replies")
        step = self.script.pop(0)
        if callable(step) and not isinstance(step, BaseException):
            step = step(list(messages))
        if isinstance(step, BaseException):
            raise step
        message = step if isinstance(step, AIMessage) else AIMessage(content=str(step))
        return ChatResult(generations=[ChatGeneration(message=message)])

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> ScriptedChatModel:  # type: ignore[override]
        self.bound_tools.append(list(tools))
        return self

    def prompt_text(self, index: int = -1) -> str:
        """Everything the model was shown in one call, as plain text."""
        return "\n".join(m.text for m in self.prompts[index])
