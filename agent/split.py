"""Split mode: a planner model drives the tools, Lingshu is asked what it sees.

With ``LINGSHU_PLANNER_BASE_URL`` set (``Settings.split_mode``), the reasoning node runs
the planner (a general model good at tool calling, served with a native tool-call
parser), and Lingshu is reached only through the ``look`` tool (:mod:`tools.look`): one
user message with the images and a focused question, answered as text that becomes an
``F#`` finding. Without a planner nothing here is used and the graph is today's.

Wired in :func:`agent.deps.make_deps` (so ``build_graph``, ``Lingshu``, the service and
the CLI all get it): the planner becomes ``Deps.model`` with :func:`planner_settings`, the
look tool is added and offered with the ``perceiver`` part, ``Deps.context`` hands the
tool the perceiver and the turn's deadline, ``Deps.system`` appends
``prompts/split_planner.md``, and ``Deps.for_model`` (called by ``reason.prepare``) takes
the image parts out with :func:`without_images`. Claims citing a finding are checked by
:mod:`agent.claims.finding`; the evidence brief names the planner when it is down.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from langchain_core.tools import BaseTool

import prompts
from agent.models.calling import ModelCallFailed, call_model, reply_cap
from agent.models.errors import ModelTimedOut
from agent.models.factory import Endpoint, load_chat_model
from agent.models.qwen_tokens import images_per_prompt
from agent.prompting import with_images
from agent.settings import Settings
from knowledge.untrusted import untrusted
from tools.evidence import EvidenceRecord
from tools.look import LOOK_TOOLS, MAX_QUESTION_CHARS, PERCEIVER, ImageRef, PerceiverError

ImageUrl = Callable[[str], str]
"""A stored image's path -> the data URL the model is sent (within the pixel budget)."""

__all__ = [
    "PERCEIVER",
    "LingshuPerceiver",
    "SplitMode",
    "build_split",
    "look_messages",
    "planner_endpoint",
    "planner_settings",
    "without_images",
]


def planner_endpoint(settings: Settings) -> Endpoint:
    """The planner's OpenAI-wire endpoint (``LINGSHU_PLANNER_*``)."""
    if not settings.split_mode:
        raise ValueError("no planner is configured (LINGSHU_PLANNER_BASE_URL is not set)")
    return Endpoint(
        base_url=str(settings.planner_base_url),
        model=str(settings.planner_model),
        api_key=settings.planner_api_key,
        tool_calling=settings.planner_tool_calling,
    )


def planner_settings(settings: Settings) -> Settings:
    """``settings`` as the graph's nodes read them in split mode: the planner's tool
    calling in place of Lingshu's (the reasoning node and the system prompt follow it)."""
    return settings.model_copy(update={"tool_calling": planner_endpoint(settings).tool_calling})


def without_images(messages: Sequence[BaseMessage]) -> list[BaseMessage]:
    """The planner's input: ``messages`` with every image part taken out of user messages.

    The planner does not see images (a text-only server refuses image parts); the
    ``Image [I1]: label`` line before each image stays, and one line says how to see it."""
    out: list[BaseMessage] = []
    for msg in messages:
        if not isinstance(msg, HumanMessage) or isinstance(msg.content, str):
            out.append(msg)
            continue
        parts = [
            p for p in msg.content if not (isinstance(p, dict) and p.get("type") == "image_url")
        ]
        if len(parts) == len(msg.content):
            out.append(msg)
            continue
        parts.insert(0, {"type": "text", "text": prompts.render("look_planner_note").strip()})
        out.append(msg.model_copy(update={"content": parts}))
    return out


def look_messages(
    images: Sequence[ImageRef], question: str, image_url: ImageUrl
) -> list[BaseMessage]:
    """The perceiver's input: the look instructions, then one user message holding each
    image (its id and label, then the image) and the question, as the graph sends images."""
    evidence = {
        ref.id: EvidenceRecord(
            id=ref.id,
            kind="image",
            key=ref.path,
            label=ref.label,
            excerpt="",
            citation={"path": ref.path},
        )
        for ref in images
    }
    asked = HumanMessage(
        content=f"Question: {untrusted(question, limit=MAX_QUESTION_CHARS)}",
        additional_kwargs={"image_ids": list(evidence)},
    )
    user = with_images([asked], evidence, lambda r: image_url(str(r["citation"]["path"])))
    return [SystemMessage(content=prompts.render("look")), *user]


@dataclass
class LingshuPerceiver:
    """The ``tools.look.Perceiver`` around the Lingshu chat model."""

    model: BaseChatModel
    model_name: str
    image_url: ImageUrl
    max_images: int
    timeout_s: float
    """How long one look may take (ends before the tool's own timeout, with a clear error)."""
    max_reply_chars: int | None = None

    def look(
        self, images: Sequence[ImageRef], question: str, *, deadline: float | None = None
    ) -> str:
        """Lingshu's answer to ``question`` about ``images``, by ``deadline`` at the latest."""
        started = time.monotonic()
        until = started + self.timeout_s
        if deadline is not None:
            until = min(until, deadline)
        try:
            messages = look_messages(images, question, self.image_url)
        except (OSError, ValueError) as exc:
            raise PerceiverError(f"an image could not be prepared ({exc})") from exc
        try:
            reply = call_model(
                self.model, messages, deadline=until, max_reply_chars=self.max_reply_chars
            )
        except ModelTimedOut as exc:
            waited = max(0.0, until - started)
            raise PerceiverError(f"no answer within {waited:.1f} s ({exc})") from exc
        except ModelCallFailed as exc:
            raise PerceiverError(f"{exc.kind}: {exc}") from exc
        return reply.text.strip()


@dataclass
class SplitMode:
    """What split mode adds to a graph: the planner, the perceiver and its tool."""

    settings: Settings
    """The graph's settings with the planner as the model (see :func:`planner_settings`)."""
    planner: BaseChatModel
    perceiver: LingshuPerceiver
    tools: list[BaseTool] = field(default_factory=lambda: list(LOOK_TOOLS))
    parts: frozenset[str] = frozenset({PERCEIVER})
    """Context parts to add to the available ones (the look tool requires them)."""


def build_split(
    settings: Settings,
    images: object,
    *,
    lingshu: BaseChatModel | None = None,
    planner: BaseChatModel | None = None,
) -> SplitMode | None:
    """Split mode's parts for ``settings``, or None when no planner is configured.

    ``images`` is the image store (``knowledge.imaging.ImageStore``: its ``data_url``
    renders an image for the model); ``lingshu`` / ``planner`` replace the models built
    from settings (tests pass their own)."""
    if not settings.split_mode:
        return None
    data_url = getattr(images, "data_url", None)
    if not callable(data_url):
        raise ValueError("split mode needs the image store (it renders images for Lingshu)")
    s = settings

    def image_url(path: str) -> str:
        return str(data_url(path, s.min_pixels, s.max_pixels))

    perceiver = LingshuPerceiver(
        model=lingshu if lingshu is not None else load_chat_model(settings),
        model_name=settings.model,
        image_url=image_url,
        max_images=max(
            1,
            images_per_prompt(s.prompt_budget_tokens, s.max_new_tokens, s.min_pixels, s.max_pixels),
        ),
        timeout_s=max(1.0, s.tool_timeout_s - 1.0),
        max_reply_chars=reply_cap(s.max_new_tokens),
    )
    return SplitMode(
        settings=planner_settings(s),
        planner=planner if planner is not None else load_chat_model(s, planner_endpoint(s)),
        perceiver=perceiver,
    )
