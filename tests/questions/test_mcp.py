"""The MCP ``consult`` tool returns the agent's question as its result; the next consult on
that session answers it (the SDK's own client over streamable HTTP)."""

from __future__ import annotations

from typing import Any

import anyio

from tests.mcp.conftest import KEY_A, HttpMcp, ehr_file, http_mcp, keyed_settings  # noqa: F401 (fixtures)
from tests.mcp.test_http import client, text
from tests.questions.conftest import QUESTION, asking


def test_consult_returns_the_question_and_the_next_consult_answers_it(
    http_mcp: tuple[HttpMcp, Any],  # noqa: F811
) -> None:
    served, model = http_mcp
    model.script.extend([asking(), "No travel: treat as NSTEMI."])

    async def run() -> tuple[str, str]:
        async with client(served.url, KEY_A) as ward_a:
            first = await ward_a.call_tool("consult", {"question": "Chest pain, what next?"})
            session = text(first).split()[1]
            second = await ward_a.call_tool(
                "consult", {"question": "He has not travelled.", "session_id": session}
            )
            return text(first), text(second)

    first, second = anyio.run(run)
    assert f"The agent asks the clinician: {QUESTION}" in first
    assert "No travel: treat as NSTEMI." in second
    assert "He has not travelled." in model.prompt_text(-1)
