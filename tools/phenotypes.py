"""Phenotype tools: a rare-disease differential from the patient's findings (HPO, offline).

Findings from the clinician (through the model), and from the session patient's record
(problems, abnormal results, notes: each cited as ``E#``), are mapped to Human Phenotype
Ontology terms; OMIM and Orphanet diseases are ranked by phenotype similarity over the
annotations that hpo3 ships. Each candidate is cited as its own evidence id (a ``G#``
whose source is the HPO annotation and the OMIM or Orphanet entry), with the findings it
explains and its features the patient is not recorded to have. Offered when the
clinician asks for it or describes a multi-system picture. For demonstration and
education; a ranking of hypotheses, not a diagnosis.
"""

from __future__ import annotations

from typing import Any

from langchain_core.tools import BaseTool, tool
from langgraph.prebuilt import ToolRuntime

from knowledge.ehr.records import concept_text, measurements, note_text, note_title
from knowledge.phenotypes import Candidate, Found, lab_term, most_specific, rank, release
from knowledge.phenotypes import terms_in_text as _terms_in_text
from knowledge.phenotypes.offer import suggests_rare_disease
from knowledge.untrusted import untrusted
from tools.ehr_lines import cite, search
from tools.runtime import ToolArtifact, ToolContext, ToolError, requires

_MAX_K = 15
_URLS = {"OMIM": "https://omim.org/entry/{}", "ORPHA": "https://www.orpha.net/en/disease/detail/{}"}
NOT_ADVICE = (
    "Phenotype similarity ranks hypotheses for a clinician to weigh; it is not a diagnosis. "
    "For demonstration and education."
)


def _direction(m: Any) -> str:
    flag = (m.flag or "").upper()
    if flag.startswith("L"):
        return "low"
    if flag.startswith("H"):
        return "high"
    if m.value is not None and m.low is not None and m.value < m.low:
        return "low"
    if m.value is not None and m.high is not None and m.value > m.high:
        return "high"
    return ""


def _record_findings(ctx: ToolContext) -> tuple[list[Found], dict[str, dict[str, Any]]]:
    """Terms from the session patient's problems, abnormal results and notes, by source."""
    found: list[Found] = []
    sources: dict[str, dict[str, Any]] = {}
    for resource in search(ctx, "Condition", count=500):
        name = concept_text(resource.get("code"))
        ref = f"Condition/{resource['id']}"
        sources[ref] = resource
        found += _terms_in_text(name, source=ref)
    latest: dict[str, tuple[Any, dict[str, Any]]] = {}
    for resource in search(ctx, "Observation", count=300):
        for m in measurements(resource):
            if m.code and m.code not in latest:
                latest[m.code] = (m, resource)
    for code, (m, resource) in latest.items():
        hpo = lab_term(code, _direction(m))
        if hpo is not None:
            ref = f"Observation/{resource['id']}"
            sources[ref] = resource
            found.append(Found(hpo, "", f"{m.display} {m.text} {m.unit}".strip(), ref))
    for resource in search(ctx, "DocumentReference", count=50):
        ref = f"DocumentReference/{resource['id']}"
        sources[ref] = resource
        found += _terms_in_text(note_text(resource), source=ref)
    return found, sources


def _disease_id(ctx: ToolContext, candidate: Candidate, terms: list[str]) -> str:
    prefix, _, number = candidate.disease_id.partition(":")
    matched = ", ".join(name for _, name, _ in candidate.matched)
    missing = ", ".join(name for _, name in candidate.missing) or "none listed"
    data = release()
    return ctx.ledger.cite(
        "guideline",
        f"hpo/{candidate.disease_id}/{','.join(sorted(terms))}",
        label=f"{candidate.name} ({candidate.disease_id}): HPO phenotype match",
        excerpt=(
            f"{candidate.name} ({candidate.disease_id}) explains the findings {matched}. "
            f"Features of {candidate.name} not recorded in the patient: {missing}."
        ),
        citation={
            "title": f"{candidate.name} ({candidate.disease_id})",
            "section": f"phenotype match {candidate.score:.2f}; matched: {matched}",
            "publisher": f"Human Phenotype Ontology disease annotations ({prefix}); {data}",
            "year": data.split()[1][:4] if len(data.split()) > 1 else "",
            "url": _URLS.get(prefix, "").format(number),
            "disease_id": candidate.disease_id,
            "other_ids": candidate.other_ids,
            "score": round(candidate.score, 3),
        },
    )


def _finding_parts(
    ctx: ToolContext, found: list[Found], sources: dict[str, Any], budget: int
) -> tuple[list[str], list[str]]:
    """One part per finding (cited when it came from the record), within ``budget`` chars."""
    from knowledge.phenotypes import term

    parts: list[str] = []
    evidence: list[str] = []
    used = 0
    for number, item in enumerate(found):
        known = term(item.hpo_id)
        name = item.name or (known.name if known is not None else item.hpo_id)
        said = untrusted(item.text, limit=80)
        part = f"{name} ({item.hpo_id}) from '{said}'"
        if used + len(part) + 10 > budget:
            parts.append(f"and {len(found) - number} more findings (all used in the ranking)")
            break
        if item.source in sources:
            resource = sources[item.source]
            label = untrusted(note_title(resource) or concept_text(resource.get("code")), limit=80)
            eid = cite(ctx, resource, label or item.source, said)
            evidence.append(eid)
            part += f" [{eid}]"
        else:
            part += " (reported)"
        parts.append(part)
        used += len(part) + 2
    return parts, evidence


def _all_findings(
    ctx: ToolContext, findings: str, use_record: bool
) -> tuple[list[Found], dict[str, Any]]:
    """The most specific HPO terms in the findings (and the record): refused when none."""
    found = _terms_in_text(findings, source="reported") if findings.strip() else []
    sources: dict[str, Any] = {}
    if use_record and ctx.ehr is not None and ctx.patient_id:
        more, sources = _record_findings(ctx)
        found += more
    specific = most_specific(found)
    if not specific:
        raise ToolError(
            "No phenotype (HPO term) was recognised in the findings"
            + (" or the record" if use_record and ctx.patient_id else "")
            + '; describe them in clinical words, e.g. "arachnodactyly, ectopia lentis".'
        )
    return specific, sources


def _candidate_lines(
    ctx: ToolContext,
    candidates: list[Candidate],
    hpo_ids: list[str],
    lines: list[str],
    evidence: list[str],
    budget: int,
) -> list[Candidate]:
    """Append one cited line per candidate to ``lines`` within ``budget``; the ones shown."""
    used = sum(len(line) + 1 for line in lines)
    shown: list[Candidate] = []
    for number, candidate in enumerate(candidates, start=1):
        also = f"; also {', '.join(candidate.other_ids[:2])}" if candidate.other_ids else ""
        matched = ", ".join(name for _, name, _ in candidate.matched) or "none exactly"
        missing = ", ".join(name for _, name in candidate.missing) or "none listed"
        line = (
            f"{number}. {candidate.name} ({candidate.disease_id}{also}) score "
            f"{candidate.score:.2f} [{{gid}}]: explains {matched}; not recorded: {missing}."
        )
        if used + len(line) + 8 > budget and shown:
            lines.append(
                f"({len(candidates) - len(shown)} more candidates not shown: ask for fewer)"
            )
            break
        gid = _disease_id(ctx, candidate, hpo_ids)
        evidence.append(gid)
        shown.append(candidate)
        lines.append(line.replace("{gid}", gid))
        used += len(lines[-1]) + 1
    return shown


@tool(parse_docstring=True, response_format="content_and_artifact")
def phenotype_differential(
    runtime: ToolRuntime[ToolContext, Any],
    findings: str = "",
    use_record: bool = True,
    k: int = 8,
) -> tuple[str, ToolArtifact]:
    """Rank rare diseases (OMIM, Orphanet) by how well they explain the patient's findings.

    Use it for an unexplained multi-system picture or when the clinician asks about rare or
    genetic disease. Findings are mapped to Human Phenotype Ontology terms; the patient's
    problems, abnormal results and notes are added when use_record is true. Cite a
    candidate's id for it, and give its OMIM or ORPHA id as the diagnosis's disease_id
    (with an ICD-10-CM code too when icd10_lookup finds one).

    Args:
        runtime: The session's tool runtime (supplied by the agent, not by the model).
        findings: The clinical findings in words, e.g. "tall, long thin fingers, dislocated
            lenses, dilated aortic root"; may be left out when the record holds them.
        use_record: Add the findings in the patient's record (default true).
        k: How many candidate diseases to return (1-15).

    Returns:
        The findings as HPO terms with where each came from, then the ranked candidates,
        each with its id, score, the findings it explains and its features not recorded.
    """
    ctx = runtime.context
    k = max(1, min(int(k), _MAX_K))
    specific, sources = _all_findings(ctx, findings, use_record)
    hpo_ids = [f.hpo_id for f in specific]
    budget = ctx.max_output_chars - len(NOT_ADVICE) - 120
    parts, evidence = _finding_parts(ctx, specific, sources, budget // 2)
    lines = ["Findings as HPO terms: " + "; ".join(parts) + "."]
    lines.append(f"Candidates ({release()}; score 1.0 = every finding explained):")
    shown = _candidate_lines(ctx, rank(hpo_ids, k=k), hpo_ids, lines, evidence, budget)
    lines.append(NOT_ADVICE)
    text = "\n".join(lines)
    data = {
        "terms": [{"id": f.hpo_id, "text": f.text, "source": f.source} for f in specific],
        "candidates": [c.to_dict() for c in shown],
        "release": release(),
        "patient_id": ctx.patient_id,
        "resources": sorted(sources),
    }
    return text, ToolArtifact(evidence=list(dict.fromkeys(evidence)), data=data)


def _clinician_text(state: Any) -> str:
    texts = []
    for message in state.get("messages") or []:
        if getattr(message, "type", "") != "human" or message.additional_kwargs.get("lingshu"):
            continue
        content = message.content
        if isinstance(content, list):
            content = " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
        texts.append(str(content))
    return "\n".join(texts)


def offer_when(state: Any) -> bool:
    """Offer the tool when the clinician asks for it or describes a multi-system picture."""
    return suggests_rare_disease(_clinician_text(state), str(state.get("synopsis") or ""))


phenotype_differential.metadata = {**requires(), "offer_if": offer_when}

PHENOTYPE_TOOLS: list[BaseTool] = [phenotype_differential]

__all__ = ["PHENOTYPE_TOOLS", "offer_when", "phenotype_differential"]
