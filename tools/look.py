"""Split mode's eyes: ask the perceiver model (Lingshu) what it sees in the session's images.

In split mode a planner model drives the tool loop and Lingshu, the medical vision model,
is asked focused questions about images through :func:`look`. Lingshu's answer is model
output about data: it is escaped with :func:`knowledge.untrusted.untrusted` and recorded
as evidence of kind ``finding`` (``F#``) whose citation names the images it looked at, so
"the findings of Lingshu on I3" are evidence that points at I3.

Tools never import the agent: the perceiver is anything with the :class:`Perceiver`
shape, handed to the tool in ``ToolContext.extras["perceiver"]`` (``agent.split`` builds
the real one around the Lingshu chat model).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from langchain_core.tools import tool
from langgraph.prebuilt import ToolRuntime

from knowledge.untrusted import untrusted
from tools.evidence import EvidenceLedger, parse_id
from tools.runtime import ToolArtifact, ToolContext, ToolError, requires

PERCEIVER = "perceiver"
"""The ``ToolContext.extras`` key (and the ``requires`` part) of the perceiver."""

DEADLINE = "deadline"
"""``ToolContext.extras`` key of the turn's deadline (a ``time.monotonic()`` instant), if any."""

MAX_QUESTION_CHARS = 1000
"""A focused question is a sentence or two; longer is refused, not cut."""

_KIND_WORDS = {
    "guideline": "a guideline passage",
    "ehr": "a record entry",
    "finding": "a finding (text about images)",
}


@dataclass(frozen=True)
class ImageRef:
    """One image handed to the perceiver: its evidence id, its label and its stored file."""

    id: str
    label: str
    path: str
    """The stored image file (a PNG or the original; the perceiver renders it for the model)."""


class PerceiverError(Exception):
    """The perceiver could not answer (down, timed out, refused): the message says which."""


@runtime_checkable
class Perceiver(Protocol):
    """A vision model asked about images (in split mode, Lingshu)."""

    model_name: str
    """The served model's name, recorded in each finding's citation."""
    max_images: int
    """The most images one question may carry (what fits the model's context)."""

    def look(
        self, images: Sequence[ImageRef], question: str, *, deadline: float | None = None
    ) -> str:
        """What the model sees in ``images`` in answer to ``question``, by ``deadline`` (a
        ``time.monotonic()`` instant, the turn's) at the latest; raises PerceiverError."""
        ...


@tool(parse_docstring=True, response_format="content_and_artifact")
def look(
    image_ids: list[str], question: str, runtime: ToolRuntime[ToolContext, Any]
) -> tuple[str, ToolArtifact]:
    """Ask Lingshu, the medical vision model, what it sees in one or more images.

    Use it whenever your answer depends on what an image shows: you cannot see the
    images yourself. Ask one focused question per call (e.g. "Is there a pleural
    effusion on the left?"), not "describe everything". To look closer, first make a
    crop with zoom (or a window, slice or enhanced view) and pass the new id. The
    answer is recorded as a finding [F#] that you cite like any other evidence.

    Args:
        image_ids: Ids of the images or derived views to show, e.g. ["I1"] or ["I1", "I3"].
        question: One focused question about what is visible in these images.
    """
    ctx = runtime.context
    perceiver = _perceiver(ctx)
    text = " ".join(str(question or "").split())
    if not text:
        raise ToolError("question is empty: ask one focused question about the images")
    if len(text) > MAX_QUESTION_CHARS:
        raise ToolError(
            f"question is {len(text)} characters; ask one focused question "
            f"(at most {MAX_QUESTION_CHARS})"
        )
    refs = resolve_images(ctx.ledger, image_ids, perceiver.max_images)
    reply = _ask(perceiver, refs, text, ctx.extras.get(DEADLINE))
    fid = record_finding(ctx.ledger, refs, text, reply, perceiver.model_name)
    shown = " ".join(f"[{r.id}]" for r in refs)
    body = f"Lingshu's findings on {shown} recorded as [{fid}] (question: {untrusted(text)}):\n"
    content = _cut(body + reply, ctx.max_output_chars)
    evidence = [fid, *(r.id for r in refs)]
    record = ctx.ledger.get(fid)
    return content, ToolArtifact(evidence=evidence, data=record["citation"] if record else {})


def _perceiver(ctx: ToolContext) -> Perceiver:
    found = ctx.extras.get(PERCEIVER)
    if found is None:
        raise ToolError("no perceiver model is configured: look is available in split mode only")
    if not isinstance(found, Perceiver):
        raise ToolError(f"the configured perceiver ({type(found).__name__}) cannot look")
    return found


def resolve_images(ledger: EvidenceLedger, image_ids: Any, limit: int) -> list[ImageRef]:
    """The session's images named by ``image_ids`` (each once, in order), or a ToolError."""
    if isinstance(image_ids, str):
        image_ids = [image_ids]
    if not isinstance(image_ids, list | tuple) or not image_ids:
        raise ToolError('image_ids is empty: give the ids of the images to look at, e.g. ["I1"]')
    known = ", ".join(ledger.ids("image")) or "none"
    refs: dict[str, ImageRef] = {}
    for raw in image_ids:
        eid = parse_id(raw)
        record = ledger.get(eid) if eid else None
        if record is None:
            raise ToolError(f"unknown image id {untrusted(raw, limit=40)!r}; images: {known}")
        if record["kind"] != "image":
            what = _KIND_WORDS.get(record["kind"], record["kind"])
            looked = record["citation"].get("images") if record["kind"] == "finding" else None
            hint = f"its images: {', '.join(map(str, looked))}" if looked else f"images: {known}"
            raise ToolError(f"{record['id']} is {what}, not an image; {hint}")
        path = str(record["citation"].get("path") or "")
        if not path:
            raise ToolError(f"{record['id']} has no stored image file to show")
        refs[record["id"]] = ImageRef(id=record["id"], label=record["label"], path=path)
    if len(refs) > limit:
        raise ToolError(
            f"{len(refs)} images in one look; the vision model takes at most {limit}: "
            "ask about fewer images (or zoom into the region that matters)"
        )
    return list(refs.values())


def _ask(perceiver: Perceiver, refs: list[ImageRef], question: str, deadline: float | None) -> str:
    try:
        reply = perceiver.look(refs, question, deadline=deadline)
    except PerceiverError as exc:
        raise ToolError(f"Lingshu could not answer: {untrusted(exc, limit=300)}") from exc
    except Exception as exc:  # a perceiver is outside code: any failure is the model's to read
        detail = untrusted(f"{type(exc).__name__}: {exc}", limit=300)
        raise ToolError(f"Lingshu could not answer ({detail})") from exc
    text = untrusted(str(reply or "")).strip()
    if not text:
        raise ToolError("Lingshu gave an empty answer; ask again, more specifically")
    return text


def record_finding(
    ledger: EvidenceLedger, refs: Sequence[ImageRef], question: str, answer: str, model: str
) -> str:
    """Cite the perceiver's ``answer`` as an ``F#`` finding pointing at the images."""
    ids = [r.id for r in refs]
    digest = hashlib.sha256("\x1f".join([*ids, question, answer, model]).encode()).hexdigest()
    label = f"{model} on {', '.join(ids)}: {question}"
    citation = {"images": ids, "question": question, "model": model, "answer": answer}
    return ledger.cite("finding", digest[:32], label=label, excerpt=answer, citation=citation)


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    note = f"\n[... cut at {limit} characters of {len(text)}; the whole answer is in the finding]"
    return text[: max(0, limit - len(note))] + note


look.metadata = requires("images", PERCEIVER)
LOOK_TOOLS = [look]
