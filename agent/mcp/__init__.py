"""The MCP face: the agent's tools and ``consult`` for MCP-speaking assistants
(``lingshu mcp``). See :mod:`agent.mcp.server` and :mod:`agent.mcp.access`."""

from __future__ import annotations

from agent.mcp.access import AccessDenied, Gate, audit_path, read_audit
from agent.mcp.server import SERVED_TOOLS, LingshuMcp

__all__ = ["SERVED_TOOLS", "AccessDenied", "Gate", "LingshuMcp", "audit_path", "read_audit"]
