"""Errors of the model layer, typed so the graph can degrade instead of crashing.

``ModelCallFailed`` and its kinds are what one model call can end in other than a
reply; the graph turns every one of them into the evidence brief, naming the kind.
"""

from __future__ import annotations


class ModelUnavailable(RuntimeError):
    """The reasoning model cannot be reached or loaded (server down, timeout, no weights)."""


class ModelWeightsMissing(ModelUnavailable):
    """The weights of an in-process model are not on this machine and the hub is unreachable."""


class ModelCallFailed(RuntimeError):
    """The model could not produce a reply this time; ``kind`` names why, in one word."""

    kind = "model_error"

    def __init__(self, reason: str) -> None:
        super().__init__(f"{self.kind}: {reason}")
        self.reason = reason


class ModelUnreachable(ModelCallFailed):
    """No connection to the model server (refused, reset, DNS), or no model loaded."""

    kind = "model_unreachable"


class ModelTimedOut(ModelCallFailed):
    """The server did not answer within the request timeout or the turn's deadline."""

    kind = "model_timeout"


class ModelRefused(ModelCallFailed):
    """The server answered with an HTTP error status (4xx or 5xx)."""

    kind = "model_http_error"


class ModelReplyInvalid(ModelCallFailed):
    """The server answered, but not with a usable chat completion: not JSON, no
    choices, no message, an empty reply, a body cut off mid-way, not HTTP at all."""

    kind = "model_bad_reply"


class ModelClientError(ModelCallFailed):
    """The client library itself failed (e.g. an upgraded dependency renamed a member)."""

    kind = "model_client_error"
