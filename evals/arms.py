"""The two arms: the model asked bare (MedEvalKit's request), and the whole agent graph.

Both take an item and a slot number (which endpoint to use when ``--base-url`` is given
more than once) and return a ``Reply``; neither scores anything.
"""

from __future__ import annotations

import asyncio
import base64
import mimetypes
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openai import AsyncOpenAI

from agent.settings import Settings
from evals.consult import PatientModel, agent_consult, bare_consult
from evals.items import Item
from evals.prompts import AGENT_FORMAT


@dataclass
class Reply:
    text: str
    latency_s: float
    prompt_tokens: int = 0
    completion_tokens: int = 0
    tool_calls: list[str] = field(default_factory=list)
    citations: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


def image_part(path: Path) -> dict[str, Any]:
    mime = mimetypes.guess_type(path.name)[0] or "image/png"
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return {"type": "image_url", "image_url": {"url": f"data:{mime};base64,{data}"}}


def bare_text(item: Item) -> str:
    """The bare arm's text: the benchmark's prompt (a FHIR task adds the record to it)."""
    if item.kind == "fhir":
        from evals.fhir_tasks import bare_prompt

        return bare_prompt(item)
    return item.prompt


def user_message(item: Item) -> dict[str, Any]:
    """Images first, then the prompt, as MedEvalKit's Qwen2.5-VL runner builds the turn
    (with ``<image_N>: `` before each image where it sends an image list)."""
    if not item.images:
        return {"role": "user", "content": bare_text(item)}
    parts: list[dict[str, Any]] = []
    for n, path in enumerate(item.images, 1):
        if item.meta.get("image_labels"):  # MedEvalKit's multi-image turns: "<image_1>: " first
            parts.append({"type": "text", "text": f"<image_{n}>: "})
        parts.append(image_part(path))
    return {"role": "user", "content": [*parts, {"type": "text", "text": bare_text(item)}]}


def _clients(settings: Settings, base_urls: list[str]) -> list[AsyncOpenAI]:
    return [
        AsyncOpenAI(
            base_url=url,
            api_key=settings.api_key,
            timeout=settings.request_timeout_s,
            max_retries=settings.connect_retries,
        )
        for url in base_urls
    ]


class BareArm:
    """One chat-completions request per item: the benchmark's prompt, nothing else."""

    name = "bare"

    def __init__(
        self, settings: Settings, base_urls: list[str], patient: PatientModel | None = None
    ) -> None:
        self.settings = settings
        self.clients = _clients(settings, base_urls)
        self.patient = patient

    async def answer(self, item: Item, slot: int) -> Reply:
        client = self.clients[slot % len(self.clients)]
        if item.kind == "consult":
            if self.patient is None:
                raise ValueError("a consultation needs a patient model")
            done = await bare_consult(
                client, self.settings.model, self.patient, item, self.settings.max_new_tokens
            )
            return Reply(
                text=done["text"],
                latency_s=done["latency_s"],
                prompt_tokens=done["tokens"][0],
                completion_tokens=done["tokens"][1],
                extra={"transcript": done["transcript"]},
            )
        start = time.perf_counter()
        response = await client.chat.completions.create(
            model=self.settings.model,
            messages=[user_message(item)],  # type: ignore[list-item]
            temperature=self.settings.temperature,
            max_tokens=self.settings.max_new_tokens,
        )
        latency = time.perf_counter() - start
        usage = response.usage
        return Reply(
            text=response.choices[0].message.content or "",
            latency_s=latency,
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
        )

    async def close(self) -> None:
        for client in self.clients:
            await client.close()


class LocalBareArm:
    """The bare arm in-process (``--backend transformers``): the same user turn through the
    project's chat model, one generation at a time."""

    name = "bare"

    def __init__(self, settings: Settings) -> None:
        from agent.models.factory import load_chat_model

        self.model = load_chat_model(settings)
        self.gate = asyncio.Lock()

    async def answer(self, item: Item, slot: int) -> Reply:
        from langchain_core.messages import HumanMessage

        if item.kind == "consult":
            raise ValueError("consultations need an OpenAI-compatible server (--base-url)")
        message = HumanMessage(content=user_message(item)["content"])
        async with self.gate:
            start = time.perf_counter()
            result = await asyncio.to_thread(self.model.invoke, [message])
            latency = time.perf_counter() - start
        usage = getattr(result, "usage_metadata", None) or {}
        return Reply(
            text=str(result.text),
            latency_s=latency,
            prompt_tokens=int(usage.get("input_tokens", 0)),
            completion_tokens=int(usage.get("output_tokens", 0)),
        )

    async def close(self) -> None:
        return None


class AgentArm:
    """The full graph (tools, retrieval, verification), one new session per item; the
    item's images are the clinician's images; report items run in the report mode."""

    name = "agent"
    mode: str | None = None
    """The session mode of every item (None: the settings' own; report items: report)."""

    def __init__(
        self, settings: Settings, base_urls: list[str], patient: PatientModel | None = None
    ) -> None:
        self.settings = settings
        self.base_urls = base_urls
        self.patient = patient
        self._agents: dict[tuple[str, str | None], Any] = {}

    def _agent(self, slot: int, ehr_db: str | None) -> Any:
        """One agent per endpoint (and per record store, for FHIR tasks), made once."""
        from agent.session import Lingshu

        url = self.base_urls[slot % len(self.base_urls)]
        key = (url, ehr_db)
        if key not in self._agents:
            update: dict[str, Any] = {"base_url": url}
            if self.mode:
                update["mode"] = self.mode
            if ehr_db:
                update["ehr_db"] = Path(ehr_db)
            self._agents[key] = Lingshu(self.settings.model_copy(update=update))
        return self._agents[key]

    async def answer(self, item: Item, slot: int) -> Reply:
        agent = self._agent(slot, item.meta.get("ehr_db"))
        if item.kind == "consult":
            if self.patient is None:
                raise ValueError("a consultation needs a patient model")
            done = await agent_consult(agent, self.patient, item)
            reply = await self._reply(agent, done["result"], done["latency_s"])
            reply.extra["transcript"] = done["transcript"]
            return reply
        text = f"{item.prompt}\n\n{AGENT_FORMAT[item.kind]}"
        mode = "report" if item.kind == "report" else None
        kwargs: dict[str, Any] = {"images": item.images, "mode": mode}
        if item.meta.get("patient_id"):
            kwargs["patient_id"] = item.meta["patient_id"]
        start = time.perf_counter()
        if agent.runs_on_loop:
            result = await agent.aask(text, **kwargs)
        else:
            result = await asyncio.to_thread(agent.ask, text, **kwargs)
        return await self._reply(agent, result, time.perf_counter() - start)

    async def _reply(self, agent: Any, result: Any, latency: float) -> Reply:
        """The reply, with the session's tool calls and token counts (all its turns)."""
        messages = (await asyncio.to_thread(agent.state, result.session_id)).get("messages", [])
        calls = [c["name"] for m in messages for c in (getattr(m, "tool_calls", None) or [])]
        usage = [getattr(m, "usage_metadata", None) or {} for m in messages]
        answer = result.answer
        return Reply(
            text=str(answer.get("text", "")),
            latency_s=latency,
            prompt_tokens=sum(int(u.get("input_tokens", 0)) for u in usage),
            completion_tokens=sum(int(u.get("output_tokens", 0)) for u in usage),
            tool_calls=calls,
            citations=list(answer.get("citations") or []),
            extra={
                "session_id": result.session_id,
                "produced_by": answer.get("produced_by"),
                "unknown_citations": list(answer.get("unknown_citations") or []),
                "red_flags": len(answer.get("red_flags") or []),
                "differential": answer.get("differential"),
                "code_checks": answer.get("code_checks") or {},
                "claim_counts": answer.get("claim_counts"),
                "costs": answer.get("costs"),  # sequential mode: the session's tests, costed
            },
        )

    async def close(self) -> None:
        return None


class SequentialArm(AgentArm):
    """The agent in sequential mode (the panel keeps a ranked differential and proposes one
    costed action a turn), on the simulated consultations only: the arm to weigh against
    ``agent`` for tests and cost at equal accuracy (that needs a real model)."""

    name = "sequential"
    mode = "sequential"

    async def answer(self, item: Item, slot: int) -> Reply:
        if item.kind != "consult":
            raise ValueError("the sequential arm runs the simulated consultations (Consult) only")
        return await super().answer(item, slot)


class Judge:
    """An OpenAI-compatible judge that answers ``<judge>0/1</judge>`` (0: correct)."""

    def __init__(self, settings: Settings, base_url: str, model: str) -> None:
        self.model = model
        self.client = _clients(settings, [base_url])[0]

    async def verdict(self, messages: list[dict[str, str]]) -> str:
        response = await self.client.chat.completions.create(
            model=self.model,
            messages=messages,  # type: ignore[arg-type]
            temperature=0,
            max_tokens=512,
        )
        return response.choices[0].message.content or ""

    async def close(self) -> None:
        await self.client.close()
