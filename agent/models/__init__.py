"""Chat-model backends and the tool-call protocol. Knows no tool and no store."""

from agent.models.errors import (
    ModelCallFailed,
    ModelClientError,
    ModelRefused,
    ModelReplyInvalid,
    ModelTimedOut,
    ModelUnavailable,
    ModelUnreachable,
    ModelWeightsMissing,
)
from agent.models.factory import load_chat_model

__all__ = [
    "ModelCallFailed",
    "ModelClientError",
    "ModelRefused",
    "ModelReplyInvalid",
    "ModelTimedOut",
    "ModelUnavailable",
    "ModelUnreachable",
    "ModelWeightsMissing",
    "load_chat_model",
]
