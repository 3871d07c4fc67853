"""The Differential: the structured answer of a clinical consultation.

The model writes it as one JSON block (or, with native tool calling, as the
arguments of ``submit_differential``); the program checks it mechanically (see
:mod:`agent.verification`) before anyone sees it.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal

from langchain_core.tools import StructuredTool
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from tools.evidence import collect_ids, is_evidence_id

_DISEASE_ID = re.compile(r"^(OMIM|ORPHA):\d{1,7}$")
_JSON_BLOCK = re.compile(r"```(?:json)?\s*(\{.*?\})\s*```", re.DOTALL)

DISCLAIMER = (
    "Decision support, not a medical device: it supports, and does not replace, clinical judgement."
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


def _clean_ids(values: Any) -> Any:
    """``[" e3 ", "[G1]", "", null]`` -> ``["E3", "G1"]``; a malformed id is kept (reported)
    and a non-string left for the schema to name."""
    if not isinstance(values, list):
        return values
    cleaned = [v.strip().strip("[]").upper() if isinstance(v, str) else v for v in values]
    return [v for v in cleaned if v not in ("", None)]


EvidenceIds = Annotated[
    list[str],
    BeforeValidator(_clean_ids),
    Field(default_factory=list, description='e.g. ["E3", "G1"]'),
]


class Finding(_Model):
    """A statement with the evidence it rests on."""

    text: str = Field(min_length=1)
    evidence: EvidenceIds


class NextStep(_Model):
    """A test, imaging study, referral or treatment, and why."""

    action: str = Field(min_length=1)
    kind: Literal["test", "imaging", "referral", "treatment", "monitoring", "other"] = "test"
    why: str = ""
    evidence: EvidenceIds


class Diagnosis(_Model):
    name: str = Field(min_length=1)
    icd10: str | None = Field(None, description="ICD-10-CM code, e.g. I21.4")
    disease_id: str | None = Field(
        None, description="OMIM or Orphanet id of a rare disease, e.g. OMIM:154700, ORPHA:558"
    )
    likelihood: float = Field(ge=0.0, le=1.0, description="probability, 0-1")
    supporting: list[Finding] = Field(default_factory=list)
    against: list[Finding] = Field(default_factory=list)
    next_steps: list[NextStep] = Field(default_factory=list)

    @field_validator("disease_id", mode="before")
    @classmethod
    def _disease_id(cls, value: Any) -> Any:
        if not isinstance(value, str) or not value.strip():
            return None if isinstance(value, str) else value
        cleaned = re.sub(r"\s+", "", value).upper().replace("ORPHANET:", "ORPHA:")
        if not _DISEASE_ID.match(cleaned):
            raise ValueError("a disease_id is OMIM:<number> or ORPHA:<number>")
        return cleaned


class Differential(_Model):
    """Ranked diagnoses with cited findings; likelihoods sum to at most 1 (rest: other)."""

    summary: str = Field(min_length=1, description="one line")
    red_flags: list[Finding] = Field(default_factory=list, description="urgent actions first")
    diagnoses: list[Diagnosis] = Field(min_length=1)
    missing: list[str] = Field(default_factory=list, description="evidence not available")

    @property
    def other_likelihood(self) -> float:
        return max(0.0, 1.0 - sum(d.likelihood for d in self.diagnoses))

    def cited_ids(self) -> list[str]:
        """Every id the findings and next steps cite, in order, once."""
        return collect_ids(self)

    def malformed_ids(self) -> list[str]:
        """Cited strings that are not evidence ids (``G01``, ``X1``, ``lab``)."""
        return [i for i in self.cited_ids() if not is_evidence_id(i)]


class DifferentialParse(BaseModel):
    """What was found in a reply: a differential, the errors of a failed one, or neither."""

    differential: Differential | None = None
    errors: list[str] = Field(default_factory=list)
    prose: str = ""

    @property
    def attempted(self) -> bool:
        return self.differential is not None or bool(self.errors)


def parse_differential(text: str, submitted: dict[str, Any] | None = None) -> DifferentialParse:
    """Find the differential in a reply: ``submit_differential`` arguments or a JSON block.

    A JSON object that has a ``diagnoses`` key is taken to be an attempt, and its
    validation errors are returned word for word so the model can fix them.
    """
    raw: Any = submitted
    prose = text
    if raw is None:
        match = next((m for m in _JSON_BLOCK.finditer(text) if '"diagnoses"' in m.group(1)), None)
        if match is None:
            stripped = text.strip()
            if stripped.startswith("{") and '"diagnoses"' in stripped:
                raw_text, prose = stripped, ""
            else:
                return DifferentialParse(prose=text)
        else:
            raw_text = match.group(1)
            prose = (text[: match.start()] + text[match.end() :]).strip()
        try:
            raw = json.loads(raw_text)
        except json.JSONDecodeError as exc:
            return DifferentialParse(
                errors=[f"the differential JSON is invalid ({exc.msg} at character {exc.pos})"],
                prose=prose,
            )
    try:
        return DifferentialParse(differential=Differential.model_validate(raw), prose=prose)
    except ValidationError as exc:
        return DifferentialParse(errors=[_describe(e) for e in exc.errors()], prose=prose)


def _describe(error: Any) -> str:
    where = ".".join(str(p) for p in error.get("loc", ())) or "differential"
    if error.get("type") == "missing":
        return f"the differential is missing '{where}'"
    return f"differential field '{where}': {error.get('msg')} (got {error.get('input')!r})"


def format_hint() -> str:
    """A compact example of the JSON shape, for prompts and repair messages."""
    example = {
        "summary": "one line",
        "red_flags": [{"text": "...", "evidence": ["E2"]}],
        "diagnoses": [
            {
                "name": "...",
                "icd10": "I21.4",
                "likelihood": 0.6,
                "supporting": [{"text": "...", "evidence": ["E3", "G1"]}],
                "against": [{"text": "...", "evidence": ["E5"]}],
                "next_steps": [{"action": "...", "kind": "test", "why": "...", "evidence": ["G2"]}],
            }
        ],
        "missing": ["..."],
    }
    return json.dumps(example, ensure_ascii=False)


def _submit(**kwargs: Any) -> str:
    """Never run: the graph takes a call to this tool as the final answer."""
    return "submitted"


SUBMIT_DIFFERENTIAL = StructuredTool.from_function(
    func=_submit,
    name="submit_differential",
    description=(
        "Submit your final differential diagnosis (instead of a JSON block). Every finding "
        "and next step cites evidence ids; likelihoods are probabilities summing to at most 1."
    ),
    args_schema=Differential,
)
"""The answer as a tool, for servers with native tool calling."""
