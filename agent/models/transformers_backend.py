"""In-process Lingshu with transformers: a langchain-core chat model.

Inputs are built exactly as the Lingshu model card does: the processor's chat
template, ``qwen_vl_utils.process_vision_info`` for the images, then the
processor. The graph speaks the prompted Hermes tool protocol, so this model only
ever sees system, user and assistant turns (tool results arrive as user text in
``<tool_response>`` tags, derived images as user image parts).

Weights load lazily on the first call and are cached per process, keyed by
(model, device, dtype): constructing the chat model costs nothing.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from agent.models.constrained import (
    CONSTRAINT_KWARG,
    NO_XGRAMMAR_NOTE,
    ToolConstraint,
    tool_call_processor,
    xgrammar_available,
)
from agent.models.errors import ModelUnavailable, ModelWeightsMissing
from agent.models.qwen_format import (
    STOP_STRINGS,
    StopCutter,
    special_tokens,
    strip_specials,
    to_qwen_messages,
)
from agent.settings import DEFAULT_MODEL, Settings

log = logging.getLogger(__name__)

# --- loading ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadedModel:
    """A loaded model and its processor, shared by every chat model of the process."""

    model: Any
    processor: Any
    device: str
    dtype: Any
    attn_implementation: str
    lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)
    """One generation at a time per loaded model."""


_CACHE: dict[tuple[str, str, str], LoadedModel] = {}
_CACHE_LOCK = threading.Lock()


def resolve_device(device: str) -> str:
    """``auto`` -> ``cuda`` when torch sees a GPU, else ``cpu``; explicit devices are checked."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ModelUnavailable(f"device {device!r} requested but torch sees no CUDA GPU")
    if device != "cpu" and not device.startswith("cuda"):
        raise ModelUnavailable(f"unknown device {device!r}; use auto, cpu, cuda or cuda:N")
    return device


def load_options(device: str) -> tuple[Any, str]:
    """(dtype, attention implementation) for a resolved device."""
    import torch

    if device.startswith("cuda"):
        if importlib.util.find_spec("flash_attn") is not None:
            return torch.bfloat16, "flash_attention_2"
        return torch.bfloat16, "sdpa"
    return torch.float32, "sdpa"


def _is_local_path(model_id: str) -> bool:
    """A hub id is ``org/name``; anything else (absolute, relative, deeper) is a path."""
    if Path(model_id).expanduser().exists():
        return True
    return model_id.startswith(("/", ".", "~")) or model_id.count("/") != 1 or "\\" in model_id


def weights_missing(model_id: str, reason: str) -> ModelWeightsMissing:
    """The error that names the missing weights and how to get them."""
    hub_id = DEFAULT_MODEL if _is_local_path(model_id) else model_id
    folder = f"/path/to/{hub_id.rsplit('/', 1)[-1]}"
    return ModelWeightsMissing(
        f"Lingshu weights {model_id!r} are not on this machine and the Hugging Face Hub "
        f"cannot be reached ({reason}). On a machine with network access run\n"
        f"  hf download {hub_id} --local-dir {folder}\n"
        f"(older huggingface_hub: huggingface-cli download {hub_id} --local-dir {folder}),\n"
        f"copy the folder here, then set LINGSHU_MODEL={folder} (or pass --model {folder})."
    )


def load_model(model_id: str, device: str = "auto") -> LoadedModel:
    """Load (once per process) the model and processor; raise ``ModelWeightsMissing`` if absent."""
    resolved = resolve_device(device)
    dtype, attn = load_options(resolved)
    key = (model_id, resolved, str(dtype))
    with _CACHE_LOCK:
        if key not in _CACHE:
            _CACHE[key] = _load_uncached(model_id, resolved, dtype, attn)
        return _CACHE[key]


def _load_uncached(model_id: str, device: str, dtype: Any, attn: str) -> LoadedModel:
    from transformers import AutoProcessor, Qwen2_5_VLForConditionalGeneration

    source = str(Path(model_id).expanduser()) if _is_local_path(model_id) else model_id
    if _is_local_path(model_id) and not Path(source).is_dir():
        raise weights_missing(model_id, f"no folder {source}")
    log.info("loading %s on %s (%s, %s)", source, device, dtype, attn)
    try:
        processor = AutoProcessor.from_pretrained(source)
        model: Any = Qwen2_5_VLForConditionalGeneration.from_pretrained(
            source, dtype=dtype, attn_implementation=attn
        )
    except OSError as exc:  # transformers reports missing files and an unreachable hub as OSError
        raise weights_missing(model_id, str(exc).splitlines()[0]) from exc
    model.to(device).eval()
    return LoadedModel(model, processor, device, dtype, attn)


# --- the chat model ----------------------------------------------------------------------


class _TextStop:
    """Stopping criterion: a stop string in the generated tail, or the consumer cancelled."""

    def __init__(self, tokenizer: Any, prompt_len: int, stops: Sequence[str]) -> None:
        self.tokenizer, self.prompt_len, self.stops = tokenizer, prompt_len, list(stops)
        self.window = max((len(s) for s in self.stops), default=1) + 2
        self.cancel = threading.Event()

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        import torch

        done = self.cancel.is_set()
        if not done and self.stops:
            start = max(self.prompt_len, input_ids.shape[1] - self.window)
            tail = self.tokenizer.decode(input_ids[0, start:], skip_special_tokens=False)
            done = any(s in tail for s in self.stops)
        return torch.full((input_ids.shape[0],), done, dtype=torch.bool, device=input_ids.device)


class TransformersChatModel(BaseChatModel):
    """Lingshu (Qwen2.5-VL) running in this process with transformers."""

    model_path: str = DEFAULT_MODEL
    """Hub id or local folder of the weights."""
    device: str = "auto"
    temperature: float = 0.0
    top_p: float = 1.0
    repetition_penalty: float = 1.05
    max_new_tokens: int = 1536
    min_pixels: int = 256 * 28 * 28
    max_pixels: int = 1280 * 28 * 28
    constrained_tools: Literal["on", "off", "auto"] = "auto"
    """Constrain tool calls with xgrammar when a call passes ``tool_constraint`` (auto:
    when xgrammar is installed)."""

    @classmethod
    def from_settings(cls, settings: Settings) -> TransformersChatModel:
        """The chat model for ``settings`` (nothing is loaded until the first call)."""
        return cls(
            model_path=settings.model,
            device=settings.device,
            temperature=settings.temperature,
            top_p=settings.top_p,
            repetition_penalty=settings.repetition_penalty,
            max_new_tokens=settings.max_new_tokens,
            min_pixels=settings.min_pixels,
            max_pixels=settings.max_pixels,
            constrained_tools=settings.constrained_tools,
        )

    @property
    def _llm_type(self) -> str:
        return "lingshu-transformers"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_path": self.model_path, "device": self.device}

    def loaded(self) -> LoadedModel:
        """The process-wide loaded model (loads it on first use)."""
        return load_model(self.model_path, self.device)

    # -- inputs and settings --

    def prepare_inputs(self, messages: Sequence[BaseMessage]) -> Any:
        """Processor inputs on the model's device, built as the Lingshu model card does."""
        from qwen_vl_utils import process_vision_info

        loaded = self.loaded()
        processor = loaded.processor
        qwen = to_qwen_messages(messages, min_pixels=self.min_pixels, max_pixels=self.max_pixels)
        text = processor.apply_chat_template(qwen, tokenize=False, add_generation_prompt=True)
        patch = getattr(processor.image_processor, "patch_size", 14)
        images, videos = process_vision_info(qwen, image_patch_size=patch)
        inputs = processor(
            text=[text],
            images=images,
            videos=videos,
            padding=True,
            return_tensors="pt",
            images_kwargs={
                "size": {"shortest_edge": self.min_pixels, "longest_edge": self.max_pixels}
            },
        )
        return inputs.to(loaded.device)

    def _stops(self, stop: Sequence[str] | None) -> list[str]:
        return list(dict.fromkeys([*STOP_STRINGS, *(stop or [])]))

    def generation_kwargs(
        self, tokenizer: Any, criterion: _TextStop, processor: Any = None
    ) -> dict[str, Any]:
        """Keyword arguments for ``model.generate`` (greedy when temperature is 0).

        ``processor``: a logits processor (the tool-call constraint), if any.
        """
        from transformers import LogitsProcessorList, StoppingCriteriaList

        eos = _stop_ids(tokenizer)
        kwargs: dict[str, Any] = {
            "max_new_tokens": self.max_new_tokens,
            "repetition_penalty": self.repetition_penalty,
            "eos_token_id": eos,
            "pad_token_id": eos[-1] if tokenizer.pad_token_id is None else tokenizer.pad_token_id,
            "stopping_criteria": StoppingCriteriaList([criterion]),
        }
        if processor is not None:
            kwargs["logits_processor"] = LogitsProcessorList([processor])
        if self.temperature > 0:
            kwargs.update(do_sample=True, temperature=self.temperature, top_p=self.top_p)
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        return kwargs

    def constraint_processor(
        self, loaded: LoadedModel, constraint: ToolConstraint | None
    ) -> tuple[Any, list[str]]:
        """(logits processor or None, notes for the reply) for one ``generate`` call."""
        if constraint is None or not constraint.tools or self.constrained_tools == "off":
            return None, []
        if not xgrammar_available():
            if self.constrained_tools == "on":
                return None, [NO_XGRAMMAR_NOTE]
            log.info("xgrammar is not installed: tool calls are decoded unconstrained")
            return None, []
        tokenizer = loaded.processor.tokenizer
        vocab = int(loaded.model.get_output_embeddings().weight.shape[0])
        return tool_call_processor(tokenizer, vocab, _stop_ids(tokenizer), constraint), []

    # -- generation --

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        import torch

        loaded = self.loaded()
        tokenizer = loaded.processor.tokenizer
        inputs = self.prepare_inputs(messages)
        prompt_len = int(inputs["input_ids"].shape[1])
        stops = self._stops(stop)
        criterion = _TextStop(tokenizer, prompt_len, stops)
        processor, notes = self.constraint_processor(loaded, kwargs.get(CONSTRAINT_KWARG))
        gen_kwargs = self.generation_kwargs(tokenizer, criterion, processor)
        with loaded.lock, torch.inference_mode():
            output = loaded.model.generate(**inputs, **gen_kwargs)
        new_ids = output[0, prompt_len:]
        cutter = StopCutter(stops)
        raw = tokenizer.decode(new_ids, skip_special_tokens=False)
        text = strip_specials(cutter.feed(raw) + cutter.flush(), special_tokens(tokenizer))
        message = AIMessage(
            content=text,
            usage_metadata=_usage(prompt_len, len(new_ids)),
            response_metadata=self._metadata(cutter.stopped, len(new_ids), notes),
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        from transformers import TextIteratorStreamer

        loaded = self.loaded()
        tokenizer = loaded.processor.tokenizer
        inputs = self.prepare_inputs(messages)
        prompt_len = int(inputs["input_ids"].shape[1])
        stops = self._stops(stop)
        criterion = _TextStop(tokenizer, prompt_len, stops)
        streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=False)
        processor, notes = self.constraint_processor(loaded, kwargs.get(CONSTRAINT_KWARG))
        gen_kwargs = {**inputs, **self.generation_kwargs(tokenizer, criterion, processor)}
        gen_kwargs["streamer"] = streamer
        outcome: dict[str, Any] = {}
        worker = threading.Thread(
            target=_generate_in_thread, args=(loaded, gen_kwargs, streamer, outcome), daemon=True
        )
        cutter, specials = StopCutter(stops), special_tokens(tokenizer)
        worker.start()
        try:
            for piece in streamer:
                if text := strip_specials(cutter.feed(piece), specials):
                    yield self._chunk(text, run_manager)
                if cutter.stopped:
                    break
            if text := strip_specials(cutter.flush(), specials):
                yield self._chunk(text, run_manager)
        finally:
            criterion.cancel.set()
            worker.join()
        if "error" in outcome:
            raise outcome["error"]
        generated = int(outcome["output"].shape[1]) - prompt_len
        yield ChatGenerationChunk(
            message=AIMessageChunk(
                content="",
                usage_metadata=_usage(prompt_len, generated),
                response_metadata=self._metadata(cutter.stopped, generated, notes),
                chunk_position="last",
            )
        )

    def _chunk(
        self, text: str, run_manager: CallbackManagerForLLMRun | None
    ) -> ChatGenerationChunk:
        chunk = ChatGenerationChunk(message=AIMessageChunk(content=text))
        if run_manager is not None:
            run_manager.on_llm_new_token(text, chunk=chunk)
        return chunk

    def _metadata(self, stopped: bool, generated: int, notes: Sequence[str] = ()) -> dict[str, Any]:
        finish = "length" if not stopped and generated >= self.max_new_tokens else "stop"
        metadata: dict[str, Any] = {"model_name": self.model_path, "finish_reason": finish}
        if notes:
            metadata["lingshu_notes"] = list(notes)
        return metadata


def _stop_ids(tokenizer: Any) -> list[int]:
    """Token ids that end a reply (``<|im_end|>``, ``<|endoftext|>``)."""
    ids = tokenizer.convert_tokens_to_ids(list(STOP_STRINGS[:2]))
    return [i for i in ids if i is not None]


def _generate_in_thread(
    loaded: LoadedModel, kwargs: dict[str, Any], streamer: Any, outcome: dict[str, Any]
) -> None:
    import torch

    try:
        with loaded.lock, torch.inference_mode():
            outcome["output"] = loaded.model.generate(**kwargs)
    except BaseException as exc:  # handed to the consuming thread, which re-raises it
        outcome["error"] = exc
        streamer.end()


def _usage(prompt_tokens: int, completion_tokens: int) -> UsageMetadata:
    return UsageMetadata(
        input_tokens=prompt_tokens,
        output_tokens=completion_tokens,
        total_tokens=prompt_tokens + completion_tokens,
    )
