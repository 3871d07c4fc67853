"""A tiny random-weight Qwen2.5-VL, built fully offline in seconds.

It exercises the real in-process code path (tokenizer, ``Qwen2VLImageProcessor``,
``Qwen2_5_VLProcessor`` chat template, ``Qwen2_5_VLForConditionalGeneration.generate``)
without downloading anything. Its output is random text: that is the point, the
agent must still end a turn cleanly when the model talks nonsense.

Used by the model tests, the graph end-to-end test and the benchmarks; users may build
one for their own tests (``build_tiny_qwen(tmp_path)``). The tokenizer is a 512-token
byte-level BPE trained here with Qwen2.5's special tokens, not Qwen2.5's vocabulary:
its token counts are not Qwen2.5's.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from knowledge.untrusted import QWEN_SPECIAL_TOKENS

__all__ = [
    "PLAIN_ADDED_TOKENS",
    "QWEN25_VL_CHAT_TEMPLATE",
    "SPECIAL_TOKENS",
    "TINY_MAX_PIXELS",
    "TINY_MIN_PIXELS",
    "build_tiny_qwen",
    "train_tokenizer",
]

log = logging.getLogger(__name__)

# Qwen2.5-VL's special tokens (the first 14 of the shared list; the tool-call tags and
# the code-completion tokens follow there). ``special=False`` ones survive
# ``skip_special_tokens``, exactly as in the real Qwen2.5 tokenizer.
SPECIAL_TOKENS = QWEN_SPECIAL_TOKENS[:14]
PLAIN_ADDED_TOKENS = ("<tool_call>", "</tool_call>")

# Qwen2.5-VL's stock chat template (the one Lingshu ships), verbatim.
QWEN25_VL_CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}"
    "{% for message in messages %}{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}"
    "{{ message['content'] }}<|im_end|>\n{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}{% if add_vision_id %}"
    "Picture {{ image_count.value }}: {% endif %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}"
    "{% set video_count.value = video_count.value + 1 %}{% if add_vision_id %}"
    "Video {{ video_count.value }}: {% endif %}<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n"
    "{% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

# Small pixel budget: a few dozen vision patches per image keeps the CPU path fast.
TINY_MIN_PIXELS = 4 * 28 * 28
TINY_MAX_PIXELS = 16 * 28 * 28

_CORPUS = (
    "You are a helpful assistant. The patient is a 64-year-old man with chest pain.",
    "Troponin is elevated; the ECG shows ST elevation in leads II, III and aVF.",
    "Differential diagnosis: acute coronary syndrome, pulmonary embolism, aortic dissection.",
    'Call a tool: {"name": "search_guidelines", "arguments": {"query": "sepsis"}}',
    "The chest radiograph shows a right lower lobe consolidation [I1] [G2] [E3].",
    "Findings. Impression. Recommend CT angiography and cardiology referral.",
    "0123456789 !?.,;:()[]{}<>/\\'\"-_=+*&^%$#@~`| \n\t",
)


def train_tokenizer(vocab_size: int = 512) -> Any:
    """A byte-level BPE with the Qwen special tokens, wrapped for transformers."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(list(_CORPUS) * 4, trainer=trainer)
    backend.add_tokens([AddedToken(t, special=False, normalized=False) for t in PLAIN_ADDED_TOKENS])
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        model_max_length=8192,
    )


def _model_config(tokenizer: Any) -> Any:
    from transformers import Qwen2_5_VLConfig

    ids = tokenizer.convert_tokens_to_ids
    text = {
        "vocab_size": len(tokenizer),
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "max_position_embeddings": 8192,
        "rope_parameters": {"rope_type": "default", "rope_theta": 1e6, "mrope_section": [2, 3, 3]},
        "tie_word_embeddings": True,
        "bos_token_id": ids("<|endoftext|>"),
        "eos_token_id": ids("<|im_end|>"),
        "pad_token_id": ids("<|endoftext|>"),
    }
    vision = {
        "depth": 2,
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_heads": 2,
        "out_hidden_size": 64,
        "patch_size": 14,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
        "window_size": 112,
        "fullatt_block_indexes": [1],
    }
    return Qwen2_5_VLConfig(
        text_config=text,
        vision_config=vision,
        image_token_id=ids("<|image_pad|>"),
        video_token_id=ids("<|video_pad|>"),
        vision_start_token_id=ids("<|vision_start|>"),
        vision_end_token_id=ids("<|vision_end|>"),
        tie_word_embeddings=True,
    )


def build_tiny_qwen(path: Path) -> Path:
    """Build a tiny random-weight Qwen2.5-VL (model + processor) into ``path``.

    Args:
        path: Folder to write; created if missing. Loadable afterwards with
            ``from_pretrained(path)`` like any Hugging Face checkpoint.

    Returns:
        ``path``.
    """
    import torch
    from transformers import (
        Qwen2_5_VLForConditionalGeneration,
        Qwen2_5_VLProcessor,
        Qwen2VLImageProcessor,
        Qwen2VLVideoProcessor,
    )

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    tokenizer = train_tokenizer()
    processor = Qwen2_5_VLProcessor(
        image_processor=Qwen2VLImageProcessor(
            min_pixels=TINY_MIN_PIXELS, max_pixels=TINY_MAX_PIXELS
        ),
        tokenizer=tokenizer,
        video_processor=Qwen2VLVideoProcessor(
            min_pixels=TINY_MIN_PIXELS, max_pixels=TINY_MAX_PIXELS
        ),
        chat_template=QWEN25_VL_CHAT_TEMPLATE,
    )
    config = _model_config(tokenizer)
    torch.manual_seed(0)
    model = Qwen2_5_VLForConditionalGeneration(config).eval()
    stop_ids = tokenizer.convert_tokens_to_ids(["<|im_end|>", "<|endoftext|>"])
    model.generation_config.eos_token_id = stop_ids
    model.generation_config.pad_token_id = stop_ids[1]
    model.save_pretrained(path)
    processor.save_pretrained(path)
    log.info("tiny Qwen2.5-VL written to %s", path)
    return path
