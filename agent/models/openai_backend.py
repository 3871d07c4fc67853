"""The OpenAI-compatible client (vLLM or any other server), with the tool-call setting.

A plain ``ChatOpenAI`` plus the one thing ``call_model`` needs to know about it: whether
to ask the server to constrain tool calls (vLLM ``structured_outputs``; see
:mod:`agent.models.constrained`). A server that refuses is detected from its answer.
"""

from __future__ import annotations

from typing import Literal

from langchain_openai import ChatOpenAI


class LingshuChatOpenAI(ChatOpenAI):
    """``ChatOpenAI`` for Lingshu served by vLLM (or another OpenAI-compatible server)."""

    constrained_tools: Literal["on", "off", "auto"] = "auto"
    """Send vLLM's ``structured_outputs`` for the offered tools (off: never)."""
