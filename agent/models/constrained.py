"""Constrained decoding of tool calls: once a ``<tool_call>`` starts, the JSON must fit.

Lingshu saw no function-calling data in training. Parsing and repair recover some
malformed calls after the fact; constraining the decoder prevents them. The
constraint is a *structural tag*: free text anywhere, but the text after the
trigger ``<tool_call>`` must be one of

    <tool_call>\\n{"name": "<tool>", "arguments": <JSON valid for its schema>}\\n</tool_call>

built from the same OpenAI-style tool specs the prompt shows
(:func:`agent.models.protocol.tool_specs`).

Two consumers:

- the vLLM server (``openai`` backend): :meth:`ToolConstraint.vllm_structured_outputs`
  gives the request's ``structured_outputs`` parameter, in the format of vLLM's
  structured-outputs documentation (v0.11 to v0.20: ``structural_tag`` is a JSON string
  with ``structures`` [begin, schema, end] and ``triggers``);
- the in-process transformers backend: :func:`tool_call_processor` compiles the
  same structural tag with xgrammar (the library vLLM itself uses) into a logits
  processor for ``generate``.

The argument grammar has no free whitespace (a model that is not sure what comes
next must not be able to wander in blanks until its token budget runs out),
string values are bounded in length, carry no raw control characters and cannot
contain ``<tool_call>``, ``</tool_call>`` or ``<tool_response>`` (which would
break the call's framing).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from langchain_core.tools import BaseTool

from agent.models.protocol import per_tool, tool_specs

log = logging.getLogger(__name__)

TRIGGER = "<tool_call>"
CALL_END = "}\n</tool_call>"
CONSTRAINT_KWARG = "tool_constraint"
"""Keyword argument through which ``call_model`` hands a constraint to an in-process model."""

MAX_STRING_CHARS = 256
"""Bound on a string argument without its own ``maxLength`` (queries, ids, dates)."""
MAX_ARRAY_ITEMS = 32
"""Bound on an array argument without its own ``maxItems``."""

SERVER_REFUSED_NOTE = (
    "the model server does not support constrained tool calls; calls were decoded "
    "unconstrained and checked after the fact"
)
NO_XGRAMMAR_NOTE = (
    "constrained tool calls were requested but xgrammar is not installed; calls were "
    "decoded unconstrained and checked after the fact"
)

_DROPPED_KEYS = frozenset({"description", "title", "default", "examples"})
_SCHEMA_MAPS = ("properties", "$defs", "definitions", "patternProperties")
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SCHEMA_SINGLE = ("items", "additionalProperties", "not")


def call_begin(name: str) -> str:
    """The fixed text of a call up to its arguments (as ``render_calls`` writes it)."""
    return TRIGGER + "\n" + '{"name": ' + json.dumps(name, ensure_ascii=False) + ', "arguments": '


def _bounded_tool(spec: Mapping[str, Any], max_string_chars: int) -> tuple[str, str]:
    """(tool name, its bounded argument schema as JSON), properties in declared order."""
    function = spec.get("function", spec)
    parameters = function.get("parameters") or {"type": "object", "properties": {}}
    schema = json.dumps(bounded_schema(parameters, max_string_chars), ensure_ascii=False)
    return str(function["name"]), schema


def bounded_schema(schema: Any, max_string_chars: int = MAX_STRING_CHARS) -> Any:
    """A tool's argument schema for the grammar: no prose, strings and arrays bounded."""
    if not isinstance(schema, Mapping):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _DROPPED_KEYS:
            continue
        if key in _SCHEMA_MAPS and isinstance(value, Mapping):
            out[key] = {k: bounded_schema(v, max_string_chars) for k, v in value.items()}
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            out[key] = [bounded_schema(v, max_string_chars) for v in value]
        elif key in _SCHEMA_SINGLE and isinstance(value, Mapping):
            out[key] = bounded_schema(value, max_string_chars)
        else:
            out[key] = value
    types = out.get("type")
    kinds = set(types) if isinstance(types, list) else {types}
    free_string = not ({"enum", "const", "pattern", "format", "maxLength"} & out.keys())
    if "string" in kinds and free_string:
        out["maxLength"] = max_string_chars
    if "array" in kinds and "maxItems" not in out and "prefixItems" not in out:
        out["maxItems"] = max(MAX_ARRAY_ITEMS, int(out.get("minItems", 0)))
    return out


@dataclass(frozen=True)
class ToolConstraint:
    """The calls a reply may contain: one structure per offered tool.

    ``require_call``: the reply must be tool calls only, at least one (the in-process
    backend; vLLM's structural tag cannot say it). Off in the agent, where the model may
    also answer in prose.
    """

    tools: tuple[tuple[str, str], ...]
    """(tool name, bounded argument schema as JSON), in offered order."""
    require_call: bool = False

    @classmethod
    def from_specs(
        cls,
        specs: Sequence[Mapping[str, Any]],
        *,
        require_call: bool = False,
        max_string_chars: int = MAX_STRING_CHARS,
    ) -> ToolConstraint:
        """From OpenAI-style function specs (``{"type": "function", "function": {...}}``).

        ``max_string_chars``: bound on string values whose schema sets none.
        """
        return cls(tuple(_bounded_tool(spec, max_string_chars) for spec in specs), require_call)

    @classmethod
    def from_tools(
        cls,
        tools: Sequence[BaseTool],
        *,
        require_call: bool = False,
        max_string_chars: int = MAX_STRING_CHARS,
    ) -> ToolConstraint:
        """From the offered langchain tools (injected arguments are not part of them)."""
        bounded = [
            per_tool(t, ("bounded", max_string_chars), partial(_bounded_tool, s, max_string_chars))
            for t, s in zip(tools, tool_specs(tools), strict=True)
        ]
        return cls(tuple(bounded), require_call)

    def schemas(self) -> dict[str, dict[str, Any]]:
        """Tool name -> the bounded argument schema the grammar enforces."""
        return {name: json.loads(schema) for name, schema in self.tools}

    def vllm_structured_outputs(self) -> dict[str, Any]:
        """The ``structured_outputs`` request parameter of vLLM's OpenAI-compatible server."""
        tag = {
            "type": "structural_tag",
            "structures": [
                {"begin": call_begin(name), "schema": json.loads(schema), "end": CALL_END}
                for name, schema in self.tools
            ],
            "triggers": [TRIGGER],
        }
        return {"structural_tag": json.dumps(tag, ensure_ascii=False)}

    def structural_tag(self) -> dict[str, Any]:
        """The xgrammar structural tag (whitespace-free argument grammars); needs xgrammar."""
        tags = [
            {
                "type": "tag",
                "begin": call_begin(name),
                "content": {"type": "grammar", "grammar": argument_grammar(schema)},
                "end": CALL_END,
            }
            for name, schema in self.tools
        ]
        body = {
            "type": "triggered_tags",
            "triggers": [TRIGGER],
            "tags": tags,
            "at_least_one": self.require_call,
            "stop_after_first": self.require_call,
        }
        return {"type": "structural_tag", "format": body}


# --- the argument grammar ------------------------------------------------------------------

# xgrammar (0.2.x) writes JSON string characters with these classes; the bounded one lets
# raw control characters through (json.loads rejects them) and neither excludes the
# call's framing tags. Both are replaced by STRING_CHAR.
_XGRAMMAR_STRING_CLASSES = (r"[^\0-\x1f\"\\\r\n]", r"[^\"\\\r\n]")
STRING_CHAR = r'([^\0-\x1f\"\\<] | "\\" [\"\\/bfnrt] | "<" [^\0-\x1f\"\\/t])'
"""One JSON string character: no control characters; an escape; ``<`` but not ``</``
or ``<t`` (so no ``</tool_call>``, ``<tool_call>``, ``<tool_response>`` inside values)."""


def argument_grammar(schema_json: str) -> str:
    """EBNF for one tool's arguments: compact JSON (``", "`` and ``": "``), no free blanks."""
    import xgrammar as xgr

    grammar = xgr.Grammar.from_json_schema(
        schema_json, any_whitespace=False, separators=(", ", ": "), strict_mode=True
    )
    ebnf = str(grammar)
    for cls in _XGRAMMAR_STRING_CLASSES:
        ebnf = ebnf.replace(cls, STRING_CHAR)
    return ebnf


# --- the transformers logits processor -----------------------------------------------------

_COMPILERS: dict[tuple[int, int], Any] = {}
_COMPILED: dict[tuple[int, int, ToolConstraint], Any] = {}
_LOCK = threading.Lock()


def xgrammar_available() -> bool:
    """Whether the in-process backend can constrain decoding (xgrammar importable)."""
    import importlib.util

    return importlib.util.find_spec("xgrammar") is not None


def compile_constraint(
    tokenizer: Any, vocab_size: int, stop_ids: Sequence[int], constraint: ToolConstraint
) -> Any:
    """The compiled grammar for ``constraint`` (cached per tokenizer and constraint)."""
    import xgrammar as xgr

    key = (id(tokenizer), vocab_size)
    with _LOCK:
        if key not in _COMPILERS:
            info = xgr.TokenizerInfo.from_huggingface(
                tokenizer, vocab_size=vocab_size, stop_token_ids=list(stop_ids)
            )
            _COMPILERS[key] = xgr.GrammarCompiler(info)
        if (*key, constraint) not in _COMPILED:
            tag = json.dumps(constraint.structural_tag(), ensure_ascii=False)
            _COMPILED[(*key, constraint)] = _COMPILERS[key].compile_structural_tag(tag)
        return _COMPILED[(*key, constraint)]


class ToolCallLogitsProcessor:
    """A ``transformers`` logits processor masking every token the grammar forbids.

    One per ``generate`` call, batch size 1 (the backend generates one reply at a time).
    """

    def __init__(self, compiled: Any) -> None:
        import xgrammar as xgr

        self._xgr = xgr
        self.matcher = xgr.GrammarMatcher(compiled)
        self.mask: Any = None
        self.started = False
        self.broken = False
        self.steps, self.seconds = 0, 0.0
        """Masked steps and the time spent masking (for the benchmark's per-token cost)."""

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        if self.broken:
            return scores
        start = time.perf_counter()
        if self.started and not self.matcher.is_terminated():
            token = int(input_ids[0, -1])
            if not self.matcher.accept_token(token):  # pragma: no cover - defensive
                log.warning("token %d left the tool-call grammar; unconstrained from here", token)
                self.broken = True
                return scores
        self.started = True
        if self.mask is None:
            self.mask = self._xgr.allocate_token_bitmask(1, scores.shape[-1])
        self.matcher.fill_next_token_bitmask(self.mask)
        self._xgr.apply_token_bitmask_inplace(scores, self.mask.to(scores.device))
        self.steps, self.seconds = self.steps + 1, self.seconds + time.perf_counter() - start
        return scores


def tool_call_processor(
    tokenizer: Any, vocab_size: int, stop_ids: Sequence[int], constraint: ToolConstraint
) -> ToolCallLogitsProcessor:
    """A fresh logits processor for one ``generate`` call under ``constraint``."""
    return ToolCallLogitsProcessor(compile_constraint(tokenizer, vocab_size, stop_ids, constraint))


# --- servers that refuse the parameter -----------------------------------------------------

_SERVER_STATE: dict[str, bool] = {}
"""base_url -> True once a constrained request succeeded there, False once it was refused."""
_PARAMETER_WORDS = re.compile(r"structured_outputs|structural_tag|guided|extra (inputs|fields)")
_NOT_ABOUT_THE_BODY = frozenset({401, 403, 408, 429})


def server_refused(base_url: str) -> bool:
    """Whether this server already refused constrained requests in this process."""
    return _SERVER_STATE.get(base_url) is False


def note_server_outcome(base_url: str, *, supported: bool) -> None:
    """Remember (process-wide) whether the server took the constraint."""
    _SERVER_STATE[base_url] = supported


def looks_like_refusal(base_url: str, status: int, message: str) -> bool:
    """Whether an HTTP error to a constrained request may be the server refusing it.

    Any 4xx that names the parameter; on the first constrained request to a server, any
    4xx about the request body (not authentication, timeouts or rate limits).
    """
    if not 400 <= status < 500:
        return False
    if _PARAMETER_WORDS.search(message):
        return True
    return base_url not in _SERVER_STATE and status not in _NOT_ABOUT_THE_BODY
