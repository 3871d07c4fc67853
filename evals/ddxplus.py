"""DDXPlus (Fansi Tchango et al., NeurIPS 2022 Datasets and Benchmarks): differential diagnosis
from a synthetic patient's answers to a symptom interview.

Released layout (figshare, CC-BY): ``release_test_patients.csv`` (or the ``.zip`` holding
it) with AGE, SEX, PATHOLOGY, EVIDENCES, INITIAL_EVIDENCE and DIFFERENTIAL_DIAGNOSIS
(a list of [condition, probability]); ``release_evidences.json`` (each evidence's English
question and value meanings); ``release_conditions.json`` (each condition's English name
and ICD-10 code). Condition keys in the patients file are the French names.

Measures, as the DDXPlus paper defines them: top-k accuracy of the pathology in the
ranked differential (k = 1, 3, 5, 10), and differential recall / precision / F1 (DDR,
DDP, DDF1) between the predicted and the ground-truth differential as sets. Plus this
project's: the share of the agent's diagnoses with a valid ICD-10-CM code, the share of
its claims whose citations checked out, and the red flags it raised.
"""

from __future__ import annotations

import ast
import csv
import io
import json
import re
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from evals.items import DatasetError, Item
from knowledge.untrusted import untrusted

TOP_K = (1, 3, 5, 10)


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise DatasetError(f"DDXPlus: no {path}")
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise DatasetError(f"DDXPlus: {path} is not a JSON object")
    return data


def _patients(folder: Path) -> list[dict[str, str]]:
    csv_path, zip_path = folder / "release_test_patients.csv", folder / "release_test_patients.zip"
    if csv_path.is_file():
        text = csv_path.read_text(encoding="utf-8")
    elif zip_path.is_file():
        with zipfile.ZipFile(zip_path) as archive:
            name = next((n for n in archive.namelist() if n.endswith(".csv")), None)
            if name is None:
                raise DatasetError(f"DDXPlus: no CSV inside {zip_path}")
            text = archive.read(name).decode("utf-8")
    else:
        raise DatasetError(f"DDXPlus: no release_test_patients.csv or .zip in {folder}")
    return list(csv.DictReader(io.StringIO(text)))


def _describe(code: str, evidences: dict[str, Any]) -> str:
    """One interview answer in English: ``question: value``."""
    name, _, value = code.partition("_@_")
    spec = evidences.get(name) or {}
    question = spec.get("question_en") or name
    if not value:
        return f"{question} Yes."
    meaning = (spec.get("value_meaning") or {}).get(value) or {}
    return f"{question} {meaning.get('en', value)}"


def load(folder: Path, cache: Path) -> list[Item]:
    evidences = _read_json(folder / "release_evidences.json")
    conditions = _read_json(folder / "release_conditions.json")
    english = {key: str(c.get("cond-name-eng") or key) for key, c in conditions.items()}
    listing = "; ".join(sorted(english.values()))
    out = []
    for n, row in enumerate(_patients(folder)):
        try:
            codes = ast.literal_eval(row["EVIDENCES"])
            truth = ast.literal_eval(row["DIFFERENTIAL_DIAGNOSIS"])
            pathology = english[row["PATHOLOGY"]]
        except (KeyError, ValueError, SyntaxError) as exc:
            raise DatasetError(f"DDXPlus patient {n}: unreadable row ({exc})") from None
        initial = row.get("INITIAL_EVIDENCE", "")
        lines = [f"- {untrusted(_describe(c, evidences))}" for c in codes if c != initial]
        complaint = untrusted(_describe(initial, evidences)) if initial else "unstated"
        prompt = (
            f"A patient, age {untrusted(row.get('AGE'))}, sex {untrusted(row.get('SEX'))}, "
            f"presents with: {complaint}\n"
            "Answers to the interview:\n" + "\n".join(lines) + "\n\n"
            "Give the differential diagnosis, most likely first, one condition per line, "
            f"choosing only from these conditions: {listing}."
        )
        differential = {english.get(k, k): float(p) for k, p in truth}
        out.append(
            Item(
                "DDXPlus",
                str(n),
                "ddx",
                prompt,
                prompt,
                pathology,
                meta={
                    "differential": differential,
                    "conditions": sorted(english.values()),
                    "icd10": conditions[row["PATHOLOGY"]].get("icd10-id"),
                },
            )
        )
    return out


def ranked_conditions(reply: str, conditions: list[str]) -> list[str]:
    """The conditions named in the reply, in the order first named; a name inside a longer
    name that matched there ("stable angina" in "unstable angina") does not count."""
    text = reply.lower()
    spans: list[tuple[int, int, str]] = []
    for name in sorted(conditions, key=len, reverse=True):
        for match in re.finditer(rf"(?<![\w-]){re.escape(name.lower())}(?![\w-])", text):
            start, end = match.span()
            if not any(s <= start and end <= e for s, e, _ in spans):
                spans.append((start, end, name))
    ranked: list[str] = []
    for _, _, name in sorted(spans):
        if name not in ranked:
            ranked.append(name)
    return ranked


def grade_differential(item: Item, reply: str) -> dict[str, Any]:
    predicted = ranked_conditions(reply, item.meta["conditions"])
    truth = set(item.meta["differential"])
    rank = predicted.index(item.answer) + 1 if item.answer in predicted else None
    common = len(set(predicted) & truth)
    recall = common / len(truth) if truth else 0.0
    precision = common / len(predicted) if predicted else 0.0
    f1 = 2 * recall * precision / (recall + precision) if common else 0.0
    metrics: dict[str, float] = {f"top{k}": float(rank is not None and rank <= k) for k in TOP_K}
    metrics.update(ddr=recall, ddp=precision, ddf1=f1)
    return {
        "parsed": "; ".join(predicted),
        "correct": rank == 1,
        "how": "conditions" if predicted else "unparsed",
        "metrics": metrics,
        "score": f1,
    }


def project_measures(extra: dict[str, Any]) -> dict[str, float | None]:
    """From an agent answer: valid ICD-10-CM share, checked-claim share, red flags raised."""
    import simple_icd_10_cm as cm

    diagnoses = ((extra.get("differential") or {}).get("diagnoses")) or []
    codes = [str(d.get("icd10") or "") for d in diagnoses]
    valid = [bool(c) and cm.is_valid_item(c) for c in codes]
    counts = extra.get("claim_counts") or {}
    claims = sum(int(v) for v in counts.values())
    return {
        "icd10_valid_share": float(np.mean(valid)) if valid else None,
        "claims_checked_share": counts.get("checked", 0) / claims if claims else None,
        "red_flags": float(extra.get("red_flags") or 0),
    }


def summarize_ddx(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Means over items: top-k, DDR, DDP, DDF1 (an errored item scores 0); project measures
    over the items that have them (the agent arm)."""
    keys = [f"top{k}" for k in TOP_K] + ["ddr", "ddp", "ddf1"]
    out: dict[str, Any] = {
        k: float(np.mean([float((r.get("metrics") or {}).get(k, 0.0)) for r in records]))
        for k in keys
    }
    measures = [project_measures(r.get("extra") or {}) for r in records if r.get("extra")]
    for key in ("icd10_valid_share", "claims_checked_share", "red_flags"):
        values = [float(v) for m in measures if (v := m[key]) is not None]
        out[key] = float(np.mean(values)) if values else None
    return out
