"""What the nodes share: the node adapter, routing with the update, the repair message.

A node is a pair of plain functions over the same body: ``body(state, deps)`` for
``invoke``/``stream`` (the CLI, the Python API) and ``abody(state, deps)`` for
``ainvoke``/``astream`` (the service's event loop). :class:`Node` hands LangGraph
the pair as one public ``Runnable`` with the graph's :class:`~agent.deps.Deps` bound.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.tools import BaseTool
from langgraph.graph.message import add_messages
from langgraph.types import Command

import prompts
from agent.citations import describe_ids
from agent.deps import Deps
from agent.prompting import marker
from agent.state import REPAIR, ConsultState
from knowledge.untrusted import protocol_safe

Body = Callable[[ConsultState, Deps], Any]
"""A node body: the state and the graph's dependencies in, an update or a Command out."""
AsyncBody = Callable[[ConsultState, Deps], Awaitable[Any]]
R = TypeVar("R", bound=str)


@dataclass(frozen=True)
class NodeSpec:
    """One node of the graph: its name, its two bodies, where it may go next."""

    name: str
    body: Body
    abody: AsyncBody
    destinations: tuple[str, ...] | None = None
    """The nodes its ``Command`` may route to (drawn in the graph), or None for fixed edges."""


class Node(Runnable[ConsultState, Any]):
    """A node LangGraph runs with ``body`` under invoke and ``abody`` under ainvoke.

    LangGraph runs a node inside its step's callback context (``RunnableSeq`` sets it),
    so the model's tokens still reach ``stream_mode="messages"``; this adds no callback
    run of its own (see BENCHMARKS.md, "Agent overhead").
    """

    def __init__(self, spec: NodeSpec, deps: Deps) -> None:
        self.name = spec.name
        self.body = spec.body
        self.abody = spec.abody
        self.deps = deps

    def invoke(self, input: ConsultState, config: RunnableConfig | None = None, **_: Any) -> Any:
        return self.body(input, self.deps)

    async def ainvoke(
        self, input: ConsultState, config: RunnableConfig | None = None, **_: Any
    ) -> Any:
        return await self.abody(input, self.deps)


def routed(state: ConsultState, update: dict[str, Any], router: Callable[[Any], R]) -> Command[R]:
    """``update`` with the node that ``router`` picks from the state after it.

    The node returns the choice with its update (a Command): LangGraph's conditional
    edges would read the whole state again for each decision (~0.4 ms a turn each).
    """
    after: dict[str, Any] = {**state, **{k: v for k, v in update.items() if k != "messages"}}
    if update.get("messages"):
        after["messages"] = add_messages(list[Any](state["messages"]), update["messages"])
    return Command(update=update, goto=router(after))


def repair(problems: Sequence[str], state: ConsultState, offered: list[BaseTool]) -> HumanMessage:
    """The message that tells the model what was wrong with its last reply."""
    text = prompts.render(
        "repair",
        # a problem quotes the model's reply (a tool name, an argument key, a claim), which
        # can carry record text the model repeated: no special token or protocol tag goes back
        problems=[protocol_safe(p) for p in problems],
        evidence_summary=describe_ids((state.get("evidence") or {}).keys()),
        tools_offered=bool(offered),
    )
    return HumanMessage(content=text, additional_kwargs={"lingshu": REPAIR})


def said_this_turn(state: ConsultState, tag: str) -> bool:
    """Whether a framework message with marker ``tag`` was sent in this turn."""
    return any(marker(m) == tag for m in state["messages"][state["turn_start"] :])


def final_reply(state: ConsultState) -> str | None:
    """The text of the turn's last model reply that is neither a tool call nor rejected."""
    for msg in reversed(state["messages"][state["turn_start"] :]):
        if isinstance(msg, AIMessage) and not msg.tool_calls and marker(msg) is None:
            return msg.text
    return None
