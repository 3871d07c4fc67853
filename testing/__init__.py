"""Test helpers for Lingshu agent users: fake models, a loopback model server, a tiny VLM.

Everything runs offline on CPU::

    from testing import ScriptedChatModel, call, serving

    model = ScriptedChatModel(script=[call("search_guidelines", query="sepsis"), "Done [G1]."])
    with serving([{"content": "Hello."}]) as server:   # an OpenAI-wire server on loopback
        ...  # point Settings(base_url=server.base_url) at it

- :mod:`testing.fakes`: ``ScriptedChatModel`` (replies from a script, records prompts)
  and ``EveryToolChatModel`` (calls every offered tool once with schema-valid arguments,
  natively or as ``<tool_call>`` text, then answers);
- :mod:`testing.openai_server`: ``OpenAICompatibleServer`` / ``serving`` (scripted
  replies, streaming, request recording, misbehaviours) and ``FaultyModelServer``;
- :mod:`testing.model_server`: ``DelayedModelServer``, an asyncio server for load;
- :mod:`testing.loopback`: servers in a thread on a free loopback port;
- :mod:`testing.panel`: ``dx`` / ``turn_state``, verified differentials for panel tests;
- :mod:`testing.tiny`: ``build_tiny_qwen``, a random-weight Qwen2.5-VL built in seconds
  (needs torch and transformers; imported only when used).
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "DelayedModelServer",
    "EveryToolChatModel",
    "FaultyModelServer",
    "OpenAICompatibleServer",
    "ScriptedChatModel",
    "build_tiny_qwen",
    "call",
    "example_arguments",
    "faulty",
    "free_port",
    "serving",
]

_HOME = {
    "DelayedModelServer": "testing.model_server",
    "EveryToolChatModel": "testing.fakes",
    "FaultyModelServer": "testing.openai_server",
    "OpenAICompatibleServer": "testing.openai_server",
    "ScriptedChatModel": "testing.fakes",
    "build_tiny_qwen": "testing.tiny",
    "call": "testing.fakes",
    "example_arguments": "testing.schema_args",
    "faulty": "testing.openai_server",
    "free_port": "testing.loopback",
    "serving": "testing.openai_server",
}


def __getattr__(name: str) -> Any:
    """Import a helper's module on first use (torch only for the tiny model)."""
    if name not in _HOME:
        raise AttributeError(f"module 'testing' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOME[name]), name)
