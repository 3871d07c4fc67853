"""Scorers for one reply, following MedEvalKit's rules (``utils/utils.py``), written anew.

Each scorer returns what it decided *and how*: an MCQ reply matched by letter, by option
text, or only by the difflib fallback (MedEvalKit's ``find_most_similar_index``), so the
summary can say how many answers were guessed at rather than read.
"""

from __future__ import annotations

import difflib
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

_ANSWER_MARKERS = (
    "**answer**:",
    "**answer**",
    "*answer*:",
    "**answer:**",
    "answer is",
    "answer:",
    "答案:",
    "final answer",
    "final answer is",
)


@dataclass
class Scored:
    """One reply scored: ``correct`` is None where the benchmark has no right/wrong."""

    parsed: str
    correct: bool | None
    how: str  # letter | text | difflib | unparsed | exact | yesno | judge | metrics
    metrics: dict[str, float] = field(default_factory=dict)


def extract_boxed(text: str) -> str | None:
    """The content of the last ``\\boxed{...}`` (braces balanced), or None."""
    start = text.rfind("\\boxed{")
    if start < 0:
        return None
    depth, i = 0, start + len("\\boxed{")
    for j in range(i, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            if depth == 0:
                return text[i:j]
            depth -= 1
    return None


def between_tags(text: str, tag: str) -> str | None:
    """Everything inside ``<tag>...</tag>`` (several joined by a space), or None."""
    found = re.findall(rf"<{tag}>(.*?)</{tag}>", text or "", flags=re.S)
    return " ".join(f.strip() for f in found).strip() if found else None


def parse_reply(reply: str) -> str:
    """The answer part of a reply, lower-cased: boxed, then ``<answer>``, then the text after
    the last answer marker ("answer:", "the answer is", ...), as MedEvalKit reads it."""
    text = (reply or "").lower()
    boxed = extract_boxed(text)
    if boxed is not None:
        text = boxed
    else:
        tagged = between_tags(text, "answer")
        if tagged is not None:
            text = tagged
    for marker in _ANSWER_MARKERS:
        if marker in text:
            text = text.split(marker)[-1]
    return text.strip()


def score_mcq(options: Mapping[str, str], answer: str, reply: str) -> Scored:
    """An option letter, the option's text, or (recorded as such) the most similar option."""
    letters = [k.lower() for k in options]
    texts = [v.strip().lower() for v in options.values()]
    gold = answer.strip().lower()
    parsed = parse_reply(reply).replace("\n", " ").strip()
    if not parsed:
        return Scored(parsed="", correct=False, how="unparsed")
    head = parsed.split(".")[0].split(":")[-1].strip().strip("()[]*").strip()
    if head in letters:
        return Scored(parsed=head.upper(), correct=head == gold, how="letter")
    if head in texts or parsed.rstrip(".") in texts:
        letter = letters[texts.index(head if head in texts else parsed.rstrip("."))]
        return Scored(parsed=letter.upper(), correct=letter == gold, how="text")
    if len(parsed) > 300 or not texts:
        return Scored(parsed=parsed[:300], correct=False, how="unparsed")
    ratios = [difflib.SequenceMatcher(None, t, parsed).ratio() for t in texts]
    best = max(range(len(texts)), key=lambda i: ratios[i])
    if ratios[best] == 0:
        return Scored(parsed=parsed[:300], correct=False, how="unparsed")
    return Scored(parsed=letters[best].upper(), correct=letters[best] == gold, how="difflib")


def score_yes_no(answer: str, reply: str) -> Scored:
    """Right when the reply says exactly one of yes/no, and it is the answer.

    Words, not substrings: MedEvalKit's ``'no' in response`` also fires on "normal",
    "nodule" and "know", which turns a plain "yes, normal" into an ambiguous answer."""
    words = set(re.findall(r"[a-z]+", parse_reply(reply)))
    said = [w for w in ("yes", "no") if w in words]
    if len(said) != 1:
        return Scored(parsed=" ".join(said), correct=False, how="unparsed")
    return Scored(parsed=said[0], correct=said[0] == answer.strip().lower(), how="yesno")


def score_closed(answer: str, reply: str) -> Scored:
    """Exact match after lower-casing and dropping newlines and full stops."""
    parsed = parse_reply(reply).replace("\n", "").replace(".", "").strip()
    gold = answer.strip().lower().replace(".", "")
    return Scored(parsed=parsed, correct=parsed == gold, how="exact")


def _tokens(text: str) -> list[str]:
    """MedEvalKit's BLEU tokens: lower case, full stops split off, split on spaces."""
    return text.lower().replace(".", " .").split(" ")


def _bleu(reply: str, answer: str, n: int) -> float:
    from nltk.translate.bleu_score import sentence_bleu

    with warnings.catch_warnings():  # nltk warns on every short answer without n-grams
        warnings.simplefilter("ignore")
        score = sentence_bleu([_tokens(answer)], _tokens(reply), weights=[1 / n] * n)
    return float(score)


def _rouge(reply: str, answer: str) -> dict[str, float]:
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"])
    scores = scorer.score(answer.lower(), reply.lower())
    return {
        "rouge1": scores["rouge1"].fmeasure,
        "rouge2": scores["rouge2"].fmeasure,
        "rougel": scores["rougeL"].fmeasure,
    }


def token_prf(reply: str, answer: str) -> tuple[float, float, float]:
    """Set-of-words precision, recall and F1 of a reply against the answer, in that order."""
    predicted, gold = set(reply.lower().split()), set(answer.lower().split())
    common = predicted & gold
    if not predicted or not gold or not common:
        return 0.0, 0.0, 0.0
    precision, recall = len(common) / len(predicted), len(common) / len(gold)
    return precision, recall, 2 * precision * recall / (precision + recall)


def score_open(answer: str, reply: str) -> Scored:
    """Open question: exact match plus BLEU-1..4, ROUGE-1/2/L and token P/R/F1."""
    gold = answer.strip().lower()
    parsed = parse_reply(reply)
    precision, recall, f1 = token_prf(parsed, gold)
    metrics: dict[str, float] = {
        **{f"bleu{n}": _bleu(parsed, gold, n) for n in (1, 2, 3, 4)},
        **(
            _rouge(parsed, gold)
            if parsed and gold
            else dict.fromkeys(("rouge1", "rouge2", "rougel"), 0.0)
        ),
        "precision": precision,
        "recall": recall,
        "f1": f1,
    }
    exact = parsed == gold
    metrics["em"] = float(exact)
    return Scored(parsed=parsed, correct=exact, how="exact", metrics=metrics)


def judge_verdict(reply: str | None) -> bool | None:
    """``<judge>0</judge>`` is correct, ``1`` is wrong; anything else is no verdict."""
    value = between_tags(reply or "", "judge")
    return {"0": True, "1": False}.get((value or "").strip())


def medevalkit_open_fields(reply: str, answer: str) -> dict[str, Any]:
    """What MedEvalKit *records* as precision/recall/f1 for an open answer: its
    ``calculate_f1`` returns (f1, precision, recall) and the caller unpacks (precision,
    recall, f1), so "precision" holds F1, "recall" holds precision and "f1" holds recall."""
    precision, recall, f1 = token_prf(reply, answer)
    return {"precision": f1, "recall": precision, "f1": recall}
