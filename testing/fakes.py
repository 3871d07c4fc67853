"""Chat models for graph tests that need no server: scripted, or calling every tool.

``ScriptedChatModel`` replies from a script and records each prompt it was sent.
``EveryToolChatModel`` is the project's counterpart of pydantic-ai's ``TestModel``: it
calls every tool it is offered once, with arguments made up from the tool's JSON
schema (:func:`testing.schema_args.example_arguments`), then answers. It speaks both
tool-calling forms: native ``tool_calls`` when the tools were bound to it, and Hermes
``<tool_call>`` text when they are listed in the system prompt's ``<tools>`` block.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Sequence
from typing import Any, Literal

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field

from testing.schema_args import example_arguments

__all__ = ["EveryToolChatModel", "ScriptedChatModel", "Step", "call", "offered_specs"]

Step = str | AIMessage | BaseException | Callable[[list[BaseMessage]], Any]
"""One scripted reply: text, a ready ``AIMessage``, an exception to raise, or a
function of the prompt that returns one of those."""

_TOOLS_BLOCK = re.compile(
    r"<tools>\n(.*?)\n</tools>", re.DOTALL
)  # not the prose's "<tools></tools>"


def call(name: str, /, **arguments: Any) -> str:
    """A Hermes ``<tool_call>`` block as Lingshu would write it (an argument may be
    called ``name`` too)."""
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
        step = self.next_step(list(messages))
        if callable(step) and not isinstance(step, BaseException):
            step = step(list(messages))
        if isinstance(step, BaseException):
            raise step
        message = step if isinstance(step, AIMessage) else AIMessage(content=str(step))
        return ChatResult(generations=[ChatGeneration(message=message)])

    def next_step(self, messages: list[BaseMessage]) -> Any:
        """The next reply: the script's next step."""
        if not self.script:
            raise AssertionError(f"the script ran out after {len(self.prompts) - 1} replies")
        return self.script.pop(0)

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> ScriptedChatModel:
        self.bound_tools.append(list(tools))
        return self

    def prompt_text(self, index: int = -1) -> str:
        """Everything the model was shown in one call, as plain text."""
        return "\n".join(m.text for m in self.prompts[index])


def offered_specs(messages: Sequence[BaseMessage], bound: Sequence[Any]) -> list[dict[str, Any]]:
    """The function specs offered in this call: the system prompt's ``<tools>`` block
    (prompted form) if it has one, else the tools last bound (native form)."""
    found = _TOOLS_BLOCK.search(_system(messages))
    if found:
        lines = [line for line in found.group(1).splitlines() if line.strip()]
        return [_function(json.loads(line)) for line in lines]
    return [_function(t if isinstance(t, dict) else convert_to_openai_tool(t)) for t in bound]


def _function(spec: dict[str, Any]) -> dict[str, Any]:
    return dict(spec.get("function", spec))


class EveryToolChatModel(ScriptedChatModel):
    """Calls each offered tool once with schema-valid arguments, then answers ``final``.

    ``form``: ``native`` (``tool_calls`` on the message), ``prompted`` (``<tool_call>``
    blocks in the text) or ``auto`` (prompted when the system prompt lists the tools).
    ``per_reply``: at most this many calls in one reply. ``skip``: tool names never
    called (by default the tools that end a turn: the structured answer, a question).
    ``called``: the tool names called so far, in order; ``arguments`` what each got.
    """

    form: Literal["auto", "native", "prompted"] = "auto"
    final: str = "Every offered tool was called once."
    per_reply: int = Field(4, ge=1)
    skip: frozenset[str] = frozenset({"submit_differential", "ask_clinician"})
    called: list[str] = Field(default_factory=list)
    arguments: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @property
    def _llm_type(self) -> str:
        return "every-tool"

    def next_step(self, messages: list[BaseMessage]) -> Any:
        if self.script:
            return self.script.pop(0)
        specs = offered_specs(messages, self.bound_tools[-1] if self.bound_tools else [])
        todo = [s for s in specs if s["name"] not in self.skip and s["name"] not in self.called]
        if not todo:
            return AIMessage(content=self.final)
        batch = todo[: self.per_reply]
        calls = []
        for spec in batch:
            args = example_arguments(spec.get("parameters") or {"type": "object"})
            self.called.append(spec["name"])
            self.arguments[spec["name"]] = args
            calls.append((spec["name"], args))
        prompted = self.form == "prompted" or (
            self.form == "auto" and _TOOLS_BLOCK.search(_system(messages)) is not None
        )
        if prompted:
            return AIMessage(content="\n".join(call(name, **args) for name, args in calls))
        tool_calls = [
            {"name": name, "args": args, "id": f"call_{uuid.uuid4().hex[:12]}", "type": "tool_call"}
            for name, args in calls
        ]
        return AIMessage(content="", tool_calls=tool_calls)


def _system(messages: Sequence[BaseMessage]) -> str:
    return next((m.text for m in messages if m.type == "system"), "")
