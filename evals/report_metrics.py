"""Corpus metrics for generated reports: BLEU (sacrebleu), ROUGE-L (rouge-score), and
METEOR / CIDEr through pycocoevalcap when it is installed (its tokenizer and METEOR run
Java; both run offline). A metric that cannot run says why instead of a number."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Sequence
from typing import Any

log = logging.getLogger(__name__)


def corpus_report_metrics(
    replies: Sequence[str], references: Sequence[str], *, meteor: bool = True
) -> dict[str, Any]:
    """BLEU-1/4 and ROUGE-L always; CIDEr and METEOR (a Java process, seconds to start; off
    with ``meteor=False``) through pycocoevalcap."""
    import sacrebleu
    from rouge_score import rouge_scorer
    from sacrebleu.metrics import BLEU

    if not replies:
        return {}
    out: dict[str, Any] = {
        "n": len(replies),
        "bleu4": sacrebleu.corpus_bleu(list(replies), [list(references)]).score / 100,
        "bleu1": BLEU(max_ngram_order=1).corpus_score(list(replies), [list(references)]).score
        / 100,
    }
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    out["rougel"] = sum(
        scorer.score(ref, hyp)["rougeL"].fmeasure
        for hyp, ref in zip(replies, references, strict=True)
    ) / len(replies)
    out.update(_coco(replies, references, meteor))
    return out


def _coco(replies: Sequence[str], references: Sequence[str], meteor: bool) -> dict[str, Any]:
    try:
        from pycocoevalcap.cider.cider import Cider
        from pycocoevalcap.meteor.meteor import Meteor
    except ImportError:
        return {
            "meteor": None,
            "cider": None,
            "unavailable": "pycocoevalcap is not installed (pip install 'lingshu-agent[eval]')",
        }
    refs = {str(i): [r.lower()] for i, r in enumerate(references)}
    hyps = {str(i): [h.lower() or "."] for i, h in enumerate(replies)}
    out: dict[str, Any] = {}
    try:
        out["cider"] = float(Cider().compute_score(refs, hyps)[0])
    except Exception as exc:  # reported in the summary, not raised: the other metrics stand
        out.update(cider=None, cider_error=f"{type(exc).__name__}: {exc}"[:200])
    if not meteor:
        out.update(meteor=None, meteor_error="not computed (--no-meteor)")
        return out
    if shutil.which("java") is None:
        out.update(meteor=None, meteor_error="METEOR needs java on PATH")
        return out
    try:
        scorer = Meteor()  # its java process ends when the object is collected
        out["meteor"] = float(scorer.compute_score(refs, hyps)[0])
        del scorer
    except Exception as exc:  # reported in the summary, not raised
        out.update(meteor=None, meteor_error=f"{type(exc).__name__}: {exc}"[:200])
    return out
