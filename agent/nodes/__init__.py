"""The nodes of the consultation graph, one module each (see ``agent.graph`` for the wiring).

Every node is a plain function ``node(state, deps)`` with an ``a``-prefixed twin for the
event loop; :class:`~agent.nodes.common.NodeSpec` names the pair for the graph.
"""

from agent.nodes.act import aact, act
from agent.nodes.common import Node, NodeSpec
from agent.nodes.intake import aintake, intake
from agent.nodes.reason import AfterReason, after_reason, areason, reason
from agent.nodes.respond import arespond, respond
from agent.nodes.verify import AfterVerify, after_verify, averify, verify

__all__ = [
    "AfterReason",
    "AfterVerify",
    "Node",
    "NodeSpec",
    "aact",
    "act",
    "after_reason",
    "after_verify",
    "aintake",
    "areason",
    "arespond",
    "averify",
    "intake",
    "reason",
    "respond",
    "verify",
]
