"""Simulated consultations in the AgentClinic style (Schmidgall et al., 2024).

A patient model (any OpenAI-compatible endpoint; a scripted server in the tests) plays
the patient from a hidden case and answers only what it is asked. The doctor (the bare
model, or the agent in a multi-turn session) has a turn budget, must ask before it
concludes, and ends with ``DIAGNOSIS READY: <diagnosis>``. Scored on the diagnosis, and
recorded: the turns, the questions asked, the tool calls.

Layout (``--data DIR/Consult``): AgentClinic's ``agentclinic_medqa.jsonl`` (or any
``*.jsonl`` there), one case a line: ``{"OSCE_Examination": {"Objective_for_Doctor",
"Patient_Actor": {...}, "Physical_Examination_Findings", "Test_Results",
"Correct_Diagnosis"}}``. The patient model sees ``Patient_Actor`` only.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path
from typing import Any

from openai import AsyncOpenAI

from evals.items import DatasetError, Item
from knowledge.untrusted import untrusted

TURNS = 8
READY = re.compile(r"DIAGNOSIS READY:\s*(.+)", re.I)

DOCTOR = (
    "You are a doctor examining a patient in a clinic. Ask the patient one question at a "
    "time about their symptoms and history; you may ask {turns} questions at most. When you "
    "are confident, reply with one line 'DIAGNOSIS READY: <diagnosis>'."
)
PATIENT = (
    "You are a patient in a clinic, answering the doctor's questions. Answer only what is "
    "asked, briefly, in plain words, from the facts below; say you do not know anything "
    "they do not contain. Never name a diagnosis.\n<case>\n{facts}\n</case>"
)


def load(folder: Path, cache: Path) -> list[Item]:
    files = sorted(folder.glob("*.jsonl"))
    if not files:
        raise DatasetError(f"Consult: no agentclinic_*.jsonl in {folder}")
    out = []
    for path in files:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                case = json.loads(line)["OSCE_Examination"]
                actor, diagnosis = case["Patient_Actor"], str(case["Correct_Diagnosis"])
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise DatasetError(f"{path}:{n}: not an AgentClinic case ({exc})") from None
            opening = (
                f"A patient has come to see you. {untrusted(actor.get('Demographics', ''))}\n"
                f"Objective: {untrusted(case.get('Objective_for_Doctor', 'Diagnose the patient.'))}"
            )
            out.append(
                Item(
                    "Consult",
                    f"{path.stem}-{n}",
                    "consult",
                    opening,
                    opening,
                    diagnosis,
                    meta={"patient": json.dumps(actor, ensure_ascii=False)},
                )
            )
    return out


class PatientModel:
    """The patient: an OpenAI-compatible chat model given the hidden case."""

    def __init__(self, base_url: str, model: str, api_key: str = "EMPTY") -> None:
        self.model = model
        self.client = AsyncOpenAI(base_url=base_url, api_key=api_key, max_retries=1)

    async def answer(self, item: Item, question: str) -> str:
        facts = untrusted(item.meta["patient"], limit=8000)
        response = await self.client.chat.completions.create(
            model=self.model,
            messages=[
                {"role": "system", "content": PATIENT.format(facts=facts)},
                {"role": "user", "content": untrusted(question, limit=2000)},
            ],
            temperature=0,
            max_tokens=256,
        )
        return response.choices[0].message.content or "I don't know."

    async def close(self) -> None:
        await self.client.close()


def diagnosis_of(text: str) -> str | None:
    found = READY.search(text or "")
    return found.group(1).strip().rstrip(".") if found else None


async def bare_consult(client: AsyncOpenAI, model: str, patient: PatientModel, item: Item,
                       max_tokens: int) -> dict[str, Any]:  # fmt: skip
    """The model bare, as the doctor in a plain multi-turn chat."""
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": DOCTOR.format(turns=TURNS)},
        {"role": "user", "content": item.prompt},
    ]
    transcript, tokens, start = [], [0, 0], time.perf_counter()
    for _ in range(TURNS + 1):
        response = await client.chat.completions.create(
            model=model,
            messages=messages,  # type: ignore[arg-type]
            temperature=0,
            max_tokens=max_tokens,
        )
        text = response.choices[0].message.content or ""
        if response.usage:
            tokens[0] += response.usage.prompt_tokens
            tokens[1] += response.usage.completion_tokens
        transcript.append({"doctor": text})
        if diagnosis_of(text) is not None:
            break
        reply = await patient.answer(item, text)
        transcript[-1]["patient"] = reply
        said = untrusted(reply, limit=2000)
        messages += [{"role": "assistant", "content": text}, {"role": "user", "content": said}]
    return {"text": text, "transcript": transcript, "latency_s": time.perf_counter() - start,
            "tokens": tokens}  # fmt: skip


async def agent_consult(agent: Any, patient: PatientModel, item: Item) -> dict[str, Any]:
    """The agent as the doctor: one session, the patient's answers as the next turns."""
    start = time.perf_counter()
    result = await _ask(agent, f"{item.prompt}\n\n{DOCTOR.format(turns=TURNS)}")
    transcript = []
    for _ in range(TURNS):
        said = str(result.answer.get("text", ""))
        transcript.append({"doctor": said})
        if diagnosis_of(said) is not None:
            break
        reply = await patient.answer(item, said)
        transcript[-1]["patient"] = reply
        turn = f"The patient answers: {untrusted(reply, limit=2000)}"
        result = await _ask(agent, turn, session_id=result.session_id)
    return {"result": result, "transcript": transcript, "latency_s": time.perf_counter() - start}


async def _ask(agent: Any, text: str, **kwargs: Any) -> Any:
    if agent.runs_on_loop:
        return await agent.aask(text, **kwargs)
    return await asyncio.to_thread(agent.ask, text, **kwargs)


def grade_consult(item: Item, reply: str, transcript: list[dict[str, str]]) -> dict[str, Any]:
    """Right when the final diagnosis names the case's (all its words, in any case), and the
    doctor asked at least one question first."""
    said = diagnosis_of(reply)
    asked = sum(1 for t in transcript if "patient" in t)
    metrics = {"turns": float(len(transcript)), "questions": float(asked)}
    if said is None:
        return {"parsed": "", "correct": False, "how": "unparsed", "metrics": metrics, "score": 0.0}
    gold = set(re.findall(r"\w+", item.answer.lower()))
    named = set(re.findall(r"\w+", said.lower()))
    if asked == 0:
        return {"parsed": said, "correct": False, "how": "no question asked",
                "metrics": metrics, "score": 0.0}  # fmt: skip
    correct = bool(gold) and gold <= named
    return {"parsed": said, "correct": correct, "how": "diagnosis", "metrics": metrics,
            "score": float(correct)}  # fmt: skip
