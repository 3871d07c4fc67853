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
from agent.models.factory import Endpoint, endpoint, load_chat_model

__all__ = [
    "Endpoint",
    "ModelCallFailed",
    "ModelClientError",
    "ModelRefused",
    "ModelReplyInvalid",
    "ModelTimedOut",
    "ModelUnavailable",
    "ModelUnreachable",
    "ModelWeightsMissing",
    "endpoint",
    "load_chat_model",
]
