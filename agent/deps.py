"""What the nodes of one compiled graph share: model, tools, stores, and the checks.

One typed bag, made once by :func:`make_deps` and bound into every node by
``agent.graph.build_graph``. ``Lingshu`` keeps it (``Lingshu.deps``), so callers reach
the model or the system prompt through it, never through the compiled graph.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, ToolCall
from langchain_core.tools import BaseTool

import prompts
from agent.acting import CallOutcome, offered_tools, run_calls, tool_pool
from agent.differential import SUBMIT_DIFFERENTIAL
from agent.models import load_chat_model
from agent.prompting import system_prompt
from agent.questions import ASK_CLINICIAN
from agent.resources import Resources, open_resources
from agent.settings import Settings
from agent.split import SplitMode, build_split, without_images
from agent.state import ConsultState
from agent.verification import SupportScorer, Verdict, embedding_scorer, verify_reply
from knowledge.icd10 import check_code
from knowledge.redflags import screen
from tools import ALL_TOOLS
from tools.evidence import EvidenceLedger, EvidenceRecord
from tools.look import DEADLINE, PERCEIVER
from tools.runtime import ToolContext

log = logging.getLogger(__name__)

SYNOPSIS_TOOL = "patient_summary"


@dataclass
class Deps:
    """The dependencies of a graph; every node gets the same instance."""

    settings: Settings
    model: BaseChatModel
    tools: list[BaseTool]
    resources: Resources
    pool: ThreadPoolExecutor = field(default_factory=tool_pool)
    systems: dict[tuple[str, tuple[str, ...], str | None], str] = field(default_factory=dict)
    """System prompts built so far, by (mode, offered tool names, synopsis)."""
    scorer: SupportScorer | None = None
    """The support scorer, made on first use (it keeps passage embeddings across turns)."""
    panel: Any = None
    """The sequential panel's context (prices, role models), made on first use (agent.panel)."""
    split: SplitMode | None = None
    """Split mode's parts (``model`` is then the planner, Lingshu the perceiver of
    ``look``); None with one model, the default."""

    # --- tools --------------------------------------------------------------------------
    def offered(self, state: ConsultState) -> list[BaseTool]:
        """The evidence tools this session can use now."""
        parts = self.resources.available()
        if self.split is not None:
            parts |= self.split.parts
        if state.get("patient_id"):
            parts.add("patient")
        if any(r["kind"] == "image" for r in (state.get("evidence") or {}).values()):
            parts.add("images")
        tools = offered_tools(self.tools, parts)
        if state.get("synopsis"):  # already in the system prompt
            tools = [t for t in tools if t.name != SYNOPSIS_TOOL]
        # a tool may also say when it is worth offering (metadata "offer_if": state -> bool)
        return [t for t in tools if _worth_offering(t, state)]

    def answer_tools(self, state: ConsultState) -> list[BaseTool]:
        """Tools that end the turn with a structured answer (the differential)."""
        differential_modes = ("clinical", "sequential")  # sequential: the panel reads it
        tools: list[BaseTool] = (
            [SUBMIT_DIFFERENTIAL] if state.get("mode", "clinical") in differential_modes else []
        )
        if self.settings.max_questions_per_turn > 0:  # a question back to the clinician
            tools.append(ASK_CLINICIAN)
        return tools

    def context(self, state: ConsultState, ledger: EvidenceLedger) -> ToolContext:
        extras: dict[str, Any] = {"ehr_show_identifiers": self.settings.ehr_show_identifiers}
        if self.split is not None:
            extras[PERCEIVER] = self.split.perceiver
            deadline = state.get("deadline")
            if deadline is not None:  # epoch seconds in the state; look waits on the monotonic
                extras[DEADLINE] = time.monotonic() + (deadline - time.time())
        return ToolContext(
            ledger=ledger,
            patient_id=state.get("patient_id"),
            ehr=self.resources.ehr,
            guidelines=self.resources.guidelines,
            images=self.resources.images,
            max_output_chars=self.settings.max_tool_output_chars,
            extras=extras,
        )

    def run(
        self, calls: Sequence[ToolCall], state: ConsultState, ledger: EvidenceLedger
    ) -> list[CallOutcome]:
        """Run tool calls offered in this state, with the session's context."""
        tools = {t.name: t for t in self.offered(state)}
        return run_calls(
            calls,
            tools,
            self.context(state, ledger),
            timeout_s=self.settings.tool_timeout_s,
            turn=state.get("turn", 0),
            pool=self.pool,
            state=state,
        )

    def synopsis(self, state: ConsultState, ledger: EvidenceLedger) -> tuple[str, list[dict]]:
        """The patient synopsis (``patient_summary``) and its audit entry; "" without a record."""
        if not any(t.name == SYNOPSIS_TOOL for t in self.offered(state)):
            return "", []
        call = ToolCall(name=SYNOPSIS_TOOL, args={}, id="synopsis", type="tool_call")
        (outcome,) = self.run([call], state, ledger)
        text = "" if outcome.message.status == "error" else outcome.message.text
        return text, [outcome.audit]

    # --- prompts ------------------------------------------------------------------------
    def system(self, mode: str, offered: list[BaseTool], synopsis: str | None) -> str:
        """The system prompt, built once per (mode, tools, synopsis): byte-identical reuse."""
        key = (mode, tuple(t.name for t in offered), synopsis)
        if key not in self.systems:
            if len(self.systems) >= 256:  # one per (mode, tools, patient): keep it bounded
                self.systems.pop(next(iter(self.systems)))
            calling = self.settings.tool_calling
            text = system_prompt(mode, offered, calling, synopsis)
            if self.split is not None:  # the planner is told it plans and Lingshu looks
                text = f"{text.rstrip()}\n\n{prompts.render('split_planner').strip()}\n"
            self.systems[key] = text
        return self.systems[key]

    def for_model(self, messages: list[BaseMessage]) -> list[BaseMessage]:
        """The reasoning model's input: in split mode without image parts (the planner
        sees ids and labels; Lingshu is shown the images through ``look``)."""
        return messages if self.split is None else without_images(messages)

    def image_url(self, record: EvidenceRecord) -> str:
        """The image as the model is sent it (the image store keeps a bounded cache)."""
        if self.split is not None:
            return ""  # the planner is sent no image part (for_model takes it out): no encoding
        s = self.settings
        return self.resources.images.data_url(
            str(record["citation"]["path"]), s.min_pixels, s.max_pixels
        )

    # --- checks -------------------------------------------------------------------------
    @property
    def scores_support(self) -> bool:
        """Whether ``verify`` runs the embedding model (work for a thread, not a loop)."""
        return getattr(self.resources.guidelines, "embedder", None) is not None

    def verify(
        self,
        text: str,
        evidence: dict[str, EvidenceRecord],
        mode: str,
        submitted: dict[str, Any] | None,
    ) -> Verdict:
        embedder = getattr(self.resources.guidelines, "embedder", None)
        if embedder is not None and self.scorer is None:
            self.scorer = embedding_scorer(embedder)  # keeps passage embeddings across turns
        return verify_reply(
            text,
            evidence,
            mode=mode,
            submitted=submitted,
            check_code=check_code,
            score_support=self.scorer if embedder is not None else None,
            max_pixels=self.settings.max_pixels,
        )

    def red_flags(
        self, state: ConsultState, text: str, ledger: EvidenceLedger
    ) -> tuple[list[dict], list[dict]]:
        """The program's own red-flag screen of the question and the record, cited, audited."""
        patient = state.get("patient_id")
        started = datetime.now(UTC).isoformat(timespec="milliseconds")
        t0 = time.perf_counter()
        flags = screen(text, self.resources.ehr, patient)
        ms = round((time.perf_counter() - t0) * 1000, 3)
        out = []
        for flag in flags:
            record = flag.to_dict()
            record["evidence"] = [
                ledger.cite(
                    "ehr",
                    f"{r['resource_type']}/{r['id']}",
                    label=r.get("label") or f"{r['resource_type']} {r.get('date', '')}".strip(),
                    citation={**r},
                )
                for r in record.get("resources", [])
            ]
            out.append(record)
        audit = []
        if patient and self.resources.ehr is not None:
            audit.append(
                {
                    "time": started,
                    "turn": state.get("turn", 0) + 1,
                    "tool": "red_flag_screen",
                    "args": {},
                    "status": "ok",
                    "ms": ms,
                    "patient_id": patient,
                    "resources": [
                        f"{r['resource_type']}/{r['id']}"
                        for f in out
                        for r in f.get("resources", [])
                    ],
                }
            )
        return out, audit


def _worth_offering(tool: BaseTool, state: ConsultState) -> bool:
    """False only when the tool's ``metadata["offer_if"]`` (state -> bool) says so."""
    offer_if = (tool.metadata or {}).get("offer_if")
    return offer_if is None or bool(offer_if(state))


def make_deps(
    settings: Settings,
    *,
    model: BaseChatModel | None = None,
    tools: Sequence[BaseTool] | None = None,
    resources: Resources | None = None,
    planner: BaseChatModel | None = None,
) -> Deps:
    """The dependencies of a graph: what is not given is loaded from ``settings``.

    ``model`` is Lingshu. With a planner endpoint configured (``settings.split_mode``)
    the reasoning model is the planner (``planner``, else loaded from the
    ``LINGSHU_PLANNER_*`` settings), Lingshu answers through the ``look`` tool, and the
    nodes read the planner's tool calling; otherwise ``planner`` is ignored and the
    graph is the single-model one.
    """
    tools = ALL_TOOLS if tools is None else tools
    resources = resources if resources is not None else open_resources(settings)
    split = build_split(settings, resources.images, lingshu=model, planner=planner)
    if split is not None:
        settings, model, tools = split.settings, split.planner, [*tools, *split.tools]
    return Deps(
        settings=settings,
        model=model if model is not None else load_chat_model(settings),
        tools=[*tools, *resources.external],  # external MCP tools beside the built-in ones
        resources=resources,
        split=split,
    )
