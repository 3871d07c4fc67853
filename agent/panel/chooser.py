"""The test chooser: the single next action with the most information per dollar.

Candidates come from this turn's differential: each next step (a test, an imaging step,
or an EHR look-up when it asks for the record), and each piece of missing evidence as a
question to the clinician. A candidate *targets* the hypotheses it was proposed for (the
diagnoses whose next steps name it; for a question, those whose name or findings share
a word with it).

Information value is the expected reduction of the entropy (bits) of the kept
differential under a plain result model: a targeted hypothesis gives a positive result
with probability ``SENSITIVITY``, any other with ``FALSE_POSITIVE`` ("other" included).
A test that targets none of the hypotheses, or all of them alike, separates nothing and
is worth 0 bits, whatever it costs. The score is bits per dollar; a question or an EHR
look-up is weighed at ``NOMINAL_USD`` (a ranking weight, not a price) and a test
without a known price at ``panel_unpriced_usd``.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterable, Mapping
from typing import Any

from agent.panel.context import PanelContext, differential_of, leader, update
from agent.panel.hypotheses import Hypothesis, find, name_key
from knowledge.costs import PriceTable

SENSITIVITY = 0.9
FALSE_POSITIVE = 0.1
NOMINAL_USD = 1.0
_RECORD = re.compile(r"\b(record|records|chart|ehr|prior|previous|old notes?)\b", re.I)
_WORD = re.compile(r"[a-z][a-z0-9-]{3,}")
_COMMON = frozenset(
    [
        "with",
        "without",
        "from",
        "that",
        "this",
        "have",
        "been",
        "there",
        "their",
        "which",
        "what",
        "when",
        "where",
        "about",
        "acute",
        "chronic",
        "patient",
        "history",
        "result",
        "results",
        "level",
        "levels",
    ]
)


def entropy(probabilities: Iterable[float]) -> float:
    return -sum(p * math.log2(p) for p in probabilities if p > 0)


def information_bits(prior: list[float], targeted: list[bool]) -> float:
    """Expected entropy reduction of ``prior`` by a binary result that favours ``targeted``."""
    likelihood = [SENSITIVITY if t else FALSE_POSITIVE for t in targeted]
    p_pos = sum(p * q for p, q in zip(prior, likelihood, strict=True))
    expected = 0.0
    for p_result, lik in ((p_pos, likelihood), (1 - p_pos, [1 - q for q in likelihood])):
        if p_result <= 0:
            continue
        posterior = [p * q / p_result for p, q in zip(prior, lik, strict=True)]
        expected += p_result * entropy(posterior)
    return max(0.0, entropy(prior) - expected)


def action_key(candidate: Mapping[str, Any]) -> str:
    return str(candidate.get("code") or f"{candidate['kind']}:{name_key(candidate['action'])}")


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _COMMON}


def _step_candidate(step: Mapping[str, Any], prices: PriceTable) -> dict[str, Any] | None:
    action = str(step.get("action", "")).strip()
    if not action or step.get("kind") in {"referral", "treatment"}:
        return None
    if _RECORD.search(action):
        return {
            "kind": "ehr",
            "action": action,
            "code": None,
            "price_usd": 0.0,
            "price_source": "an EHR look-up has no fee",
        }
    row = prices.lookup(action)
    kind = (
        "imaging"
        if step.get("kind") == "imaging" or (row and row.category == "imaging")
        else "test"
    )
    return {
        "kind": kind,
        "action": action,
        "code": row.code if row else None,
        "price_usd": row.price_usd if row else None,
        "price_source": (f"{row.source} ({row.year})" if row.year else row.source)
        if row
        else "not in the price table",
    }


def candidates(differential: Mapping[str, Any], prices: PriceTable) -> list[dict[str, Any]]:
    """Candidate actions of this turn, each with the diagnoses it targets."""
    found: dict[str, dict[str, Any]] = {}
    diagnoses = list(differential.get("diagnoses") or [])
    for dx in diagnoses:
        for step in dx.get("next_steps") or []:
            candidate = _step_candidate(step, prices)
            if candidate is None:
                continue
            entry = found.setdefault(action_key(candidate), {**candidate, "targets": []})
            if dx.get("name") not in entry["targets"]:
                entry["targets"].append(dx.get("name"))
    for missing in differential.get("missing") or []:
        asked = _words(str(missing))
        targets = [
            dx.get("name")
            for dx in diagnoses
            if asked & _words(" ".join([str(dx.get("name", "")), *_finding_texts(dx)]))
        ]
        question = {
            "kind": "question",
            "action": f"Ask the clinician: {missing}",
            "code": None,
            "price_usd": 0.0,
            "price_source": "a question has no fee",
            "targets": targets,
        }
        found.setdefault(action_key(question), question)
    return list(found.values())


def _finding_texts(dx: Mapping[str, Any]) -> list[str]:
    return [str(f.get("text", "")) for g in ("supporting", "against") for f in dx.get(g) or []]


def score(
    candidate: dict[str, Any],
    hypotheses: list[Hypothesis],
    diagnoses: list[Mapping[str, Any]],
    unpriced_usd: float,
) -> dict[str, Any]:
    """``candidate`` with its bits, the cost it is weighed at, and bits per dollar."""
    active = [h for h in hypotheses if h["status"] == "active"]
    by_name = {str(dx.get("name")): dx for dx in diagnoses}
    hit = {id(h) for n in candidate["targets"] if (h := find(active, by_name.get(n, {"name": n})))}
    prior = [h["probability"] for h in active] + [
        max(0.0, 1 - sum(h["probability"] for h in active))
    ]
    bits = information_bits(prior, [id(h) in hit for h in active] + [False])
    price = candidate["price_usd"]
    weight = (
        NOMINAL_USD
        if candidate["kind"] in {"question", "ehr"}
        else (unpriced_usd if price is None else max(price, NOMINAL_USD))
    )
    return {
        **candidate,
        "bits": round(bits, 4),
        "weighed_usd": weight,
        "bits_per_usd": round(bits / weight, 6),
    }


def ranked(state: Mapping[str, Any], ctx: PanelContext) -> list[dict[str, Any]]:
    """Scored candidates not yet done in this session, best first."""
    differential = differential_of(state)
    done = {action_key(a) for a in state.get("actions") or []}
    hypotheses = list(state.get("hypotheses") or [])
    diagnoses = list(differential.get("diagnoses") or [])
    scored = [
        score(c, hypotheses, diagnoses, ctx.settings.panel_unpriced_usd)
        for c in candidates(differential, ctx.prices)
        if action_key(c) not in done
    ]
    return sorted(scored, key=lambda c: (-c["bits_per_usd"], -c["bits"], c["action"]))


def chooser(state: Mapping[str, Any], ctx: PanelContext) -> dict[str, Any]:
    """Role: propose the single next action (``next_action``), or none that separates."""
    started = time.perf_counter()
    top = leader(list(state.get("hypotheses") or []))
    if top is not None and top["probability"] >= ctx.settings.panel_commit:
        committed = {
            "pick": None,
            "ranked": [],  # nothing for stewardship to fall back on: the panel commits
            "committed": top["name"],
            "note": f"committed to {top['name']} (p={top['probability']:.2f} >= "
            f"{ctx.settings.panel_commit:.2f}): no further test proposed",
        }
        return update("chooser", state, started, committed, next_action=None)
    options = ranked(state, ctx)
    pick = next((c for c in options if c["bits"] > 0), None)
    output: dict[str, Any] = {"pick": pick, "ranked": options[:8]}
    if pick is None:
        output["note"] = "no candidate action separates the hypotheses"
    else:
        output["reason"] = (
            f"{pick['bits']:.2f} bits for {_money(pick)}: separates {', '.join(pick['targets'])}"
        )
    return update("chooser", state, started, output, next_action=pick)


def _money(candidate: Mapping[str, Any]) -> str:
    if candidate["kind"] in {"question", "ehr"}:
        return "no fee"
    price = candidate.get("price_usd")
    return "an unknown price" if price is None else f"${price:,.2f}"
