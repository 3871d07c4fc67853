"""Every claim of an answer checked against what it cites (see :mod:`agent.claims.check`).

- :mod:`agent.claims.check`: a claim's verdict from its parts, the claims of an answer;
- :mod:`agent.claims.record` (with :mod:`agent.claims.record_words`): ``E#`` record claims;
- :mod:`agent.claims.guideline` (with :mod:`agent.claims.guideline_text` and
  :mod:`agent.claims.guideline_clashes`): ``G#`` guideline claims.

Evidence ids in claim text are read with the one id grammar of :mod:`tools.evidence`
(``citation_groups``, ``cited_ids``); this package has no id regex of its own.
"""

from __future__ import annotations

from agent.claims.check import (
    STATUSES,
    ClaimPath,
    ClaimVerdict,
    annotate,
    check_claim,
    check_image_claim,
    claims_of,
    count_claims,
    passage_text,
    prime_guideline,
    prose_claims,
    scoped_text,
    shown_mm_per_pixel,
)
from agent.claims.guideline import (
    STEPS,
    GuidelineCheck,
    GuidelineVerdict,
    Judge,
    SupportScorer,
    check_guideline_claim,
    openai_judge,
    parse_judge_reply,
)
from agent.claims.record import RecordCheck, check_record_claim

__all__ = [
    "STATUSES",
    "STEPS",
    "ClaimPath",
    "ClaimVerdict",
    "GuidelineCheck",
    "GuidelineVerdict",
    "Judge",
    "RecordCheck",
    "SupportScorer",
    "annotate",
    "check_claim",
    "check_guideline_claim",
    "check_image_claim",
    "check_record_claim",
    "claims_of",
    "count_claims",
    "openai_judge",
    "parse_judge_reply",
    "passage_text",
    "prime_guideline",
    "prose_claims",
    "scoped_text",
    "shown_mm_per_pixel",
]
