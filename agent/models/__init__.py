"""Chat-model backends and the tool-call protocol. Knows no tool and no store."""

from agent.models.errors import ModelUnavailable, ModelWeightsMissing
from agent.models.factory import load_chat_model

__all__ = ["ModelUnavailable", "ModelWeightsMissing", "load_chat_model"]
