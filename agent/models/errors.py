"""Errors of the model layer, typed so the graph can degrade instead of crashing."""

from __future__ import annotations


class ModelUnavailable(RuntimeError):
    """The reasoning model cannot be reached or loaded (server down, timeout, no weights)."""


class ModelWeightsMissing(ModelUnavailable):
    """The weights of an in-process model are not on this machine and the hub is unreachable."""
