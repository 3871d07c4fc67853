"""What a tool receives at run time, and how a tool is called outside a graph.

Tools never import the agent. Each tool takes a parameter ``runtime:
ToolRuntime[ToolContext]`` (LangGraph's public ``langgraph.prebuilt.ToolRuntime``);
langchain-core keeps it out of the schema the model sees, so the model can neither
see nor set it. The act node (``agent.acting.run_calls``) builds one
:class:`ToolContext` per tool round and hands it to every call as
``runtime.context``. Evidence is recorded through ``runtime.context.ledger``.

To call a tool yourself (a notebook, a script, a test), with no graph::

    ctx = ToolContext(ledger=EvidenceLedger(), patient_id="chest-pain", ehr=store)
    message = call_tool(get_labs, ctx, name_or_loinc="troponin")
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypedDict, runtime_checkable

from langchain_core.messages import ToolMessage
from langchain_core.messages.tool import ToolCall
from langchain_core.tools import BaseTool
from langgraph.prebuilt import ToolRuntime

from knowledge.ehr.source import FhirSource
from knowledge.imaging import ImageStore
from tools.evidence import EvidenceLedger

RUNTIME_ARG = "runtime"
"""The parameter name LangGraph injects ``ToolRuntime`` under (``ToolNode`` uses the same)."""


class ToolError(Exception):
    """A failure the model can act on: bad argument, nothing found, store unavailable.

    The act node turns it into an error tool result with exactly this message.
    """


@runtime_checkable
class GuidelineSearch(Protocol):
    """What the guideline tool calls on a store (``knowledge.guidelines.GuidelineStore``)."""

    def search(self, query: str, k: int = 5) -> Sequence[Any]:
        """The ``k`` best passages for ``query``; each hit has ``.chunk`` and ``.score``."""
        ...


@dataclass
class ToolContext:
    """Dependencies of one tool round (``runtime.context``). Stores are ``None`` when absent."""

    ledger: EvidenceLedger
    """Where tools register the evidence they show (ids the model cites)."""
    patient_id: str | None = None
    """The session's patient, bound at session start; tools read this patient only."""
    ehr: FhirSource | None = None
    """The FHIR source (``knowledge.ehr``), or None."""
    guidelines: GuidelineSearch | None = None
    """The guideline store (``knowledge.guidelines``), or None."""
    images: ImageStore | None = None
    """The session's image store (``knowledge.imaging``), or None."""
    max_output_chars: int = 4000
    """The most characters of one result the model is shown."""
    extras: dict[str, Any] = field(default_factory=dict)
    """Settings a tool reads (``ehr_show_identifiers``, ``as_of``)."""


class ToolArtifact(TypedDict, total=False):
    """What a tool keeps for the program (the model sees only the content string)."""

    evidence: list[str]
    """Evidence ids this result cites."""
    images: list[str]
    """Derived image ids to show the model as a new user image message."""
    data: Any
    """Structured payload for renderers and the audit log."""


def requires(*needs: str) -> dict[str, Any]:
    """Tool metadata saying which context parts a tool needs (``ehr``, ``patient``, ...).

    The graph offers a tool only when every part it needs is present, so the model
    is never shown a tool that cannot run.
    """
    return {"requires": list(needs)}


def tool_runtime(
    ctx: ToolContext,
    *,
    call_id: str | None = None,
    state: Mapping[str, Any] | None = None,
    tools: Sequence[BaseTool] = (),
) -> ToolRuntime[ToolContext, Any]:
    """The ``ToolRuntime`` a tool gets for one call, carrying ``ctx`` as its context."""
    return ToolRuntime(
        state=dict(state or {}),
        context=ctx,
        config={},
        stream_writer=_no_stream,
        tool_call_id=call_id,
        store=None,
        tools=list(tools),
    )


def wants_runtime(tool: BaseTool) -> bool:
    """Whether ``tool`` declares the injected ``runtime`` parameter."""
    return RUNTIME_ARG in getattr(tool.get_input_schema(), "model_fields", {})


def injected_call(call: ToolCall, runtime: ToolRuntime[ToolContext, Any] | None) -> ToolCall:
    """``call`` with ``runtime`` injected (replacing anything the model put there)."""
    args = {k: v for k, v in call["args"].items() if k != RUNTIME_ARG}
    if runtime is not None:
        args[RUNTIME_ARG] = runtime
    return ToolCall(name=call["name"], args=args, id=call["id"], type="tool_call")


def call_tool(tool: BaseTool, ctx: ToolContext, *, call_id: str = "direct", **args: Any) -> Any:
    """Run one tool directly with ``ctx``, as the act node would (minus timeout and audit).

    Returns the tool's ``ToolMessage``; a :class:`ToolError` propagates to the caller.
    """
    call = ToolCall(name=tool.name, args=args, id=call_id, type="tool_call")
    runtime = tool_runtime(ctx, call_id=call_id) if wants_runtime(tool) else None
    result = tool.invoke(injected_call(call, runtime))
    if isinstance(result, ToolMessage):
        return result
    return ToolMessage(content=str(result), tool_call_id=call_id, name=tool.name)


def _no_stream(chunk: Any) -> None:
    """Tools here do not stream partial output; a write goes nowhere."""
