"""The history rewrites (prompted and native) are remembered per message, and a message
that is a different object, even with the same id or text, gets its own rewrite."""

from __future__ import annotations

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from agent.models.protocol import IdentityMemo, to_prompted
from agent.prompting import _native


def _history(value: int) -> list:
    return [
        HumanMessage("go"),
        AIMessage("", tool_calls=[{"name": "noop", "args": {"value": value}, "id": "c1"}]),
        ToolMessage(f"result {value}", tool_call_id="c1", name="noop"),
    ]


def test_the_same_history_rewrites_the_same_and_a_new_message_anew() -> None:
    first = _history(1)
    once, twice = to_prompted(first), to_prompted(first)
    assert [m.content for m in once] == [m.content for m in twice]
    assert '"value": 1' in once[1].content and "result 1" in once[2].content
    other = to_prompted(_history(2))  # same ids and shapes, other objects
    assert '"value": 2' in other[1].content and "result 2" in other[2].content
    native = [_native(m) for m in _history(3)]
    assert native[1].tool_calls[0]["args"] == {"value": 3}
    assert native[2].content == "result 3"


def test_the_memo_starts_over_past_its_size() -> None:
    made: list[int] = []
    memo = IdentityMemo(lambda m: made.append(1) or m.content, kept=2)
    messages = [AIMessage(str(i)) for i in range(3)]
    assert [memo(m) for m in messages + messages[-1:]] == ["0", "1", "2", "2"]
    assert len(made) == 3 and len(memo.held) <= 2
