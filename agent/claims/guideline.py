"""Guideline claims (``G#``): is the claim what the cited passage says?

The checks run cheapest first, each measured on ``benchmarks/claims_guideline.json``
(see BENCHMARKS.md, "Claims against guideline passages"):

1. ``similarity``: the best cosine (all-MiniLM-L6-v2) between the claim and one sentence
   of the passage (Markdown table rows, bullets and headings read as sentences; pairs of
   adjacent sentences with ``windows=True``, measured as no better and twice the cost);
   below ``threshold`` the passage does not say it;
2. ``numbers``: every number the claim states (a dose, a threshold, a duration) must be
   stated by the passage;
3. ``polarity``: the claim and the sentence that matches it best agree on negation
   (a word one side negates, "not recommended in pregnancy", "advises against", the other
   states outside any negation) and on direction words in any inflection
   (increase/decrease, before/after, above/below, more/less); and over the passage: a
   bound keeps its direction ("above 4.75" against "below 4.75"), a role ("X is the
   first-line ...") keeps its subject, "A rather than B" is not turned into B, "only if"
   is not turned into "any", and a table row keeps its own values;
4. ``population``: a population the claim names (children, pregnancy, older adults ...)
   must be named by the passage;
5. ``coverage``: two or more content words the passage (with its title and section) never
   uses mean the claim says something the passage does not;
6. an optional ``judge`` (any OpenAI-compatible chat endpoint) for claims the cheap checks
   pass with a similarity in the grey zone.

Verdicts are remembered per scorer, keyed by the claim, the cited passages' text and the
configuration, so the re-check after a repair costs a look-up for each unchanged claim.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from weakref import WeakKeyDictionary

from agent.claims.guideline_clashes import (
    _rejected_option,
    _restriction_dropped,
    _role_clash,
    _table_row_clash,
    _threshold_clash,
)
from agent.claims.guideline_text import (
    _POPULATIONS,
    _direction_clash,
    _negation_clash_near,
    _order_clash,
    acronyms,
    content_words,
    numbers,
    sentences,
)

SupportScorer = Callable[[Sequence[tuple[str, Sequence[str]]]], list[float]]
Judge = Callable[[str, str], str]
"""(claim, passage) -> ``supported``, ``unsupported`` or ``contradicted``."""

STEPS = ("similarity", "numbers", "polarity", "population", "coverage")


@dataclass
class GuidelineCheck:
    """How guideline claims are checked: the scorer, the threshold, the steps, the judge."""

    scorer: SupportScorer
    threshold: float = 0.45
    steps: tuple[str, ...] = STEPS
    windows: bool = False
    judge: Judge | None = None
    grey: tuple[float, float] = (0.45, 0.6)
    """Similarities in this range are sent to the judge (when one is configured)."""
    judge_calls: int = field(default=0)


@dataclass
class GuidelineVerdict:
    status: str
    reason: str
    score: float
    best_id: str
    label: str
    """``supported``, ``unsupported`` or ``contradicted``."""


_VERDICTS: WeakKeyDictionary[Any, dict[tuple[Any, ...], GuidelineVerdict]] = WeakKeyDictionary()
"""Verdicts already given, per scorer (one per agent): the re-check after a repair, or the
next turn, finds the claims it has seen. The key holds the claim, every cited passage's
text and the whole configuration, so a verdict is reused only for the same question."""
_VERDICTS_KEPT = 4096


def check_guideline_claim(
    claim: str, passages: Sequence[tuple[str, str]], config: GuidelineCheck
) -> GuidelineVerdict:
    """Judge one claim against the passages it cites (the best-supporting one counts).

    A verdict is a function of the claim, the passages and the configuration; it is
    remembered per scorer, so checking the same claim again costs a dictionary look-up.
    """
    key = (
        claim,
        tuple(passages),
        config.threshold,
        config.steps,
        config.windows,
        config.grey,
        config.judge,
    )
    try:
        kept = _VERDICTS.setdefault(config.scorer, {})
    except TypeError:  # a scorer that cannot be weakly referenced: no memory
        kept = {}
    if key in kept:
        return kept[key]
    verdict = _check_guideline_claim(claim, passages, config)
    if len(kept) >= _VERDICTS_KEPT:
        kept.pop(next(iter(kept)))
    kept[key] = verdict
    return verdict


def _check_guideline_claim(
    claim: str, passages: Sequence[tuple[str, str]], config: GuidelineCheck
) -> GuidelineVerdict:
    pieces = [(gid, sentences(text, config.windows)) for gid, text in passages]
    if "similarity" not in config.steps or not config.windows:
        pieces = [(gid, sentences(text, False)) for gid, text in passages]
    scores = config.scorer([(claim, s) for _, s in pieces]) if pieces else []
    best = max(range(len(pieces)), key=lambda k: scores[k]) if pieces else 0
    gid, score = (pieces[best][0], scores[best]) if pieces else ("", 0.0)
    ids = ", ".join(g for g, _ in passages)
    if score < config.threshold:
        return GuidelineVerdict(
            "mismatch",
            f"{ids} does not say this (similarity {score:.2f} < {config.threshold})",
            score,
            gid,
            "unsupported",
        )
    passage = next(t for g, t in passages if g == gid)
    body = passage.split("\n", 1)[-1] if "\n" in passage else passage
    best_sentences = _best_sentences(claim, sentences(body, False), config.scorer)
    for step in config.steps:
        problem = _step(step, claim, passage, best_sentences)
        if problem:
            label = "unsupported" if step in {"population", "coverage"} else "contradicted"
            return GuidelineVerdict("mismatch", f"{gid}: {problem}", score, gid, label)
    if config.judge is not None and config.grey[0] <= score < config.grey[1]:
        config.judge_calls += 1
        label = config.judge(claim, passage)
        if label in {"unsupported", "contradicted"}:
            return GuidelineVerdict(
                "mismatch", f"{gid}: a judge found the claim {label}", score, gid, label
            )
    return GuidelineVerdict(
        "checked", f"{gid} says this (similarity {score:.2f})", score, gid, "supported"
    )


def _best_sentences(claim: str, candidates: Sequence[str], scorer: SupportScorer) -> list[str]:
    """The two single sentences nearest the claim (pairs dropped: they mix two statements)."""
    singles = [s for s in candidates if s] or list(candidates)
    scored = scorer([(claim, [s]) for s in singles])
    order = sorted(range(len(singles)), key=lambda k: scored[k], reverse=True)
    return [singles[k] for k in order[:3]]


def _step(step: str, claim: str, passage: str, best: list[str]) -> str:
    if step == "numbers":
        head = numbers(passage.split("\n", 1)[0])  # the title and section line
        wanted = numbers(claim) - head
        missing = min((wanted - numbers(s) for s in best), key=len) if best else wanted
        if missing:
            said = ", ".join(sorted(numbers(best[0]))) if best else ""
            nearest = f" (its nearest sentence states {said})" if said else ""
            stated = ", ".join(sorted(missing))
            return f"the claim states {stated}, which the passage does not{nearest}"
    elif step == "polarity" and best:
        top = best[0]
        which, said = _negation_clash_near(claim, best)
        if which:
            top = said
            return f"the claim {which} what the passage says ('{top[:90]}')"
        clash = (
            _direction_clash(claim, top)
            or _order_clash(claim, top)
            or _rejected_option(claim, top)
            or _restriction_dropped(claim, top)
            or _threshold_clash(claim, passage)
            or _role_clash(claim, passage)
            or _table_row_clash(claim, passage)
        )
        if clash:
            return clash
    elif step == "population":
        lowered = f" {passage.lower()} "
        claim_l = f" {claim.lower()} "
        for name, cues in _POPULATIONS.items():
            if any(c in claim_l for c in cues) and not any(c in lowered for c in cues):
                return f"the claim speaks of {name}; the passage does not"
    elif step == "coverage":
        known = content_words(passage) | acronyms(passage)
        novel = sorted(w for w in content_words(claim) - known if w.rstrip("s") not in known)
        if len(novel) >= 2:
            return f"the passage says nothing of {', '.join(novel[:4])}"
    return ""


def openai_judge(client: Any, model: str) -> Judge:
    """A judge over any OpenAI-compatible chat endpoint (``client.chat.completions.create``)."""

    def judge(claim: str, passage: str) -> str:
        from knowledge.untrusted import untrusted

        reply = client.chat.completions.create(
            model=model,
            temperature=0,
            max_tokens=8,
            messages=[
                {
                    "role": "system",
                    "content": "Answer with one word: supported, unsupported or contradicted. "
                    "Is the claim stated by the guideline passage?",
                },
                {
                    "role": "user",
                    "content": f"<passage>{untrusted(passage, 2000)}</passage>\n"
                    f"<claim>{untrusted(claim, 400)}</claim>",
                },
            ],
        )
        word = (reply.choices[0].message.content or "").strip().lower()
        for label in ("contradicted", "unsupported", "supported"):
            if label in word:
                return label
        return "supported"

    return judge


def parse_judge_reply(text: str) -> str:
    """The label in a judge's reply (JSON or a word); ``supported`` when unclear."""
    try:
        value = json.loads(text)
        text = str(value.get("label", "")) if isinstance(value, dict) else str(value)
    except (json.JSONDecodeError, AttributeError):
        pass
    lowered = text.lower()
    return next(
        (x for x in ("contradicted", "unsupported", "supported") if x in lowered), "supported"
    )
