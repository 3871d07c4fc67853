"""Coding tools: ICD-10-CM codes for a diagnosis term (CMS/NCHS code set, offline).

An ICD-10-CM code is a classification of a diagnosis, not evidence about the
patient: nothing here is cited in the evidence ledger.
"""

from __future__ import annotations

from typing import Any

from langchain_core.tools import BaseTool, tool
from langgraph.prebuilt import ToolRuntime

from knowledge.icd10 import check_code, looks_like_code, lookup
from tools.runtime import ToolArtifact, ToolContext, ToolError, requires

_MAX_K = 15


def _mark(billable: bool) -> str:
    return "billable" if billable else "category, not billable: pick a code under it"


@tool(parse_docstring=True, response_format="content_and_artifact")
def icd10_lookup(
    term: str, runtime: ToolRuntime[ToolContext, Any], k: int = 8
) -> tuple[str, ToolArtifact]:
    """Find ICD-10-CM codes for a diagnosis, or check one code (exists? billable?).

    Use it to put a valid, billable code on each diagnosis. Abbreviations such as
    NSTEMI, PE, DVT, CAP, COPD, CHF, DKA, UTI, TIA and AF are understood. The codes
    are a classification, not evidence: do not cite them as evidence.

    Args:
        term: A diagnosis in words ("community acquired pneumonia") or a code ("I21.4").
        runtime: The session's tool runtime (supplied by the agent, not by the model).
        k: How many codes to return (1-15).

    Returns:
        One line per code: the code, billable or category, and its description.
    """
    ctx = runtime.context
    if not term.strip():
        raise ToolError("Give a diagnosis term or an ICD-10-CM code, e.g. 'NSTEMI' or 'I21.4'.")
    k = max(1, min(int(k), _MAX_K))
    lines: list[str] = []
    check = check_code(term) if looks_like_code(term) else None
    if check is not None and not check.exists:
        matches = [m for c in check.candidates[:k] for m in lookup(c, 1)]
        lines.append(check.suggestion.split(";")[0] + ("; closest codes:" if matches else "."))
    else:
        matches = lookup(term, k)
    if not matches and not lines:
        raise ToolError(
            f"No ICD-10-CM code matches {term!r}; try the diagnosis in other words "
            "(e.g. 'myocardial infarction' rather than a brand or slang term)."
        )
    lines += [f"{m.code} ({_mark(m.billable)}): {m.description}" for m in matches]
    artifact = ToolArtifact(
        evidence=[],
        data={
            "term": term,
            "check": check.to_dict() if check else None,
            "matches": [m.to_dict() for m in matches],
        },
    )
    text = "\n".join(lines)
    return text[: ctx.max_output_chars], artifact


icd10_lookup.metadata = requires()

CODING_TOOLS: list[BaseTool] = [icd10_lookup]

__all__ = ["CODING_TOOLS", "icd10_lookup"]
