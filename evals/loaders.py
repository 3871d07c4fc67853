"""MedEvalKit-compatible loaders: each reads the local copy of one benchmark, laid out as
MedEvalKit and the dataset's release lay it out, and returns its items with the prompt
MedEvalKit would send.

``--data DIR`` holds one folder per benchmark, named as MedEvalKit names the benchmark
(``DIR/VQA_RAD``, ``DIR/SLAKE``, ...; ``MMMU-Medical-val`` reads ``DIR/MMMU`` and both
MedXpertQA splits read ``DIR/MedXpertQA``). The layouts are listed in ``LAYOUTS``.
"""

from __future__ import annotations

import ast
import csv
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from evals import prompts
from evals.items import DatasetError, Item
from evals.tables import image_file, read_rows, require, rows

Loader = Callable[[Path, Path], list[Item]]
"""(the benchmark's folder, a cache folder for images held inside data files) -> items"""

LETTERS = "ABCDEFGHIJ"


def _mcq(
    bench: str,
    idx: str,
    question: str,
    options: dict[str, str],
    answer: str,
    *,
    images: list[Path] | None = None,
    sep: str = ". ",
    prefix: str = "",
    meta: dict[str, Any] | None = None,
) -> Item:
    choices = [f"{k}{sep}{v}" for k, v in options.items()]
    return Item(
        benchmark=bench,
        id=idx,
        kind="mcq",
        question=question,
        prompt=prefix + prompts.multiple_choice(question, choices),
        answer=answer.strip().upper(),
        images=images or [],
        options=options,
        meta=meta or {},
    )


def _vqa(
    bench: str,
    idx: str,
    question: str,
    answer: str,
    images: list[Path],
    *,
    closed_type: bool | None = None,
    lang: str = "en",
) -> Item:
    """VQA-RAD / PathVQA: yes/no answers are closed; SLAKE says so in ``answer_type``."""
    gold = str(answer).strip()
    yes_no = gold.lower() in ("yes", "no")
    closed = yes_no if closed_type is None else closed_type
    if yes_no:
        kind, prompt = "yesno", prompts.yes_no(question, lang=lang)
    elif closed:
        kind, prompt = "closed", prompts.closed(question, lang=lang)
    else:
        kind, prompt = "open", prompts.open_ended(question, lang=lang)
    meta = {"answer_type": "closed" if closed else "open", "lang": lang}
    return Item(bench, idx, kind, question, prompt, gold, images, meta=meta)


def vqa_rad(folder: Path, cache: Path) -> list[Item]:
    """flaviagiammarino/vqa-rad hub snapshot: ``data/test-*.parquet`` (image, question, answer)."""
    out = []
    for n, row in enumerate(rows(folder, "test")):
        require(row, "image", "question", "answer", where=f"VQA_RAD row {n}")
        image = image_file(row["image"], folder, cache)
        out.append(_vqa("VQA_RAD", str(n), row["question"], row["answer"], [image]))
    return out


def path_vqa(folder: Path, cache: Path) -> list[Item]:
    """flaviagiammarino/path-vqa hub snapshot: ``data/test-*.parquet`` (image, question, answer)."""
    out = []
    for n, row in enumerate(rows(folder, "test")):
        require(row, "image", "question", "answer", where=f"PATH_VQA row {n}")
        image = image_file(row["image"], folder, cache)
        out.append(_vqa("PATH_VQA", str(n), row["question"], row["answer"], [image]))
    return out


def slake(folder: Path, cache: Path) -> list[Item]:
    """SLAKE release: ``test.json`` (img_name, question, answer, answer_type, q_lang), ``imgs/``."""
    out = []
    for n, row in enumerate(read_rows(folder / "test.json")):
        require(row, "img_name", "question", "answer", "answer_type", where=f"SLAKE item {n}")
        image = image_file(str(Path("imgs") / row["img_name"]), folder, cache)
        closed = str(row["answer_type"]).upper() != "OPEN"
        lang = "zh" if row.get("q_lang") == "zh" else "en"
        idx = str(row.get("qid", n))
        out.append(
            _vqa(
                "SLAKE", idx, row["question"], row["answer"], [image], closed_type=closed, lang=lang
            )
        )
    return out


def pmc_vqa(folder: Path, cache: Path) -> list[Item]:
    """PMC-VQA release: ``test_2.csv`` (index, Figure_path, Caption, Question, Choice A..D,
    Answer, split) and ``figures/`` (or ``images/``)."""
    path = folder / "test_2.csv"
    if not path.is_file():
        raise DatasetError(f"no {path}")
    out = []
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader, None)
        for n, row in enumerate(reader):
            if len(row) < 9:
                raise DatasetError(f"{path}: row {n + 2} has {len(row)} columns, expected 10")
            _, figure, _, question, *choices = row[:8]
            answer = row[8].strip()
            options = {}
            for letter, choice in zip("ABCD", choices, strict=True):
                text = choice.strip()
                options[letter] = (
                    text.split(":", 1)[1].strip() if text[:2] == f"{letter}:" else text
                )
            where = folder / "figures" / figure
            image = image_file(
                str(where if where.is_file() else folder / "images" / figure), folder, cache
            )
            item = _mcq("PMC_VQA", str(n), question, options, answer, images=[image], sep=":")
            item.prompt = prompts.multiple_choice(question, [c.strip() for c in choices])
            out.append(item)
    return out


def omnimedvqa(folder: Path, cache: Path) -> list[Item]:
    """OmniMedVQA release: ``QA_information/Open-access/*.json`` and the images they name."""
    qa = folder / "QA_information" / "Open-access"
    if not qa.is_dir():
        raise DatasetError(f"no {qa}")
    out: list[Item] = []
    for path in sorted(qa.glob("*.json")):
        for row in read_rows(path):
            require(row, "question", "gt_answer", "image_path", where=f"{path.name} item")
            options = {k: str(row[f"option_{k}"]) for k in "ABCD" if f"option_{k}" in row}
            answer = next((k for k, v in options.items() if v == row["gt_answer"]), "")
            meta = {k: row.get(k) for k in ("question_type", "modality_type", "dataset")}
            idx = str(row.get("question_id", f"{path.stem}-{len(out)}"))
            image = image_file(row["image_path"], folder, cache)
            out.append(
                _mcq("OmniMedVQA", idx, row["question"], options, answer, images=[image], meta=meta)
            )
    return out


MMMU_MEDICAL = (
    "Basic_Medical_Science",
    "Clinical_Medicine",
    "Diagnostics_and_Laboratory_Medicine",
    "Pharmacy",
    "Public_Health",
)


def _mmmu_text(text: str) -> str:
    """MMMU's ``<image 1>`` placeholders as ``[image 1]``: the one escaping function would
    otherwise turn them into ``&lt;image 1>``."""
    return prompts.untrusted(re.sub(r"<image (\d+)>", r"[image \1]", str(text)))


def mmmu_medical(folder: Path, cache: Path) -> list[Item]:
    """MMMU/MMMU hub snapshot, Health and Medicine subjects: ``<Subject>/validation-*.parquet``.

    Options are a Python list literal; read with ``ast.literal_eval`` (MedEvalKit calls
    ``eval`` on the dataset's text)."""
    out = []
    for subject in MMMU_MEDICAL:
        for row in rows(folder / subject, "validation"):
            require(row, "id", "question", "options", "answer", where=f"MMMU {subject}")
            row = {**row, "question": _mmmu_text(row["question"])}
            images = [
                image_file(row[f"image_{i}"], folder, cache)
                for i in range(1, 8)
                if row.get(f"image_{i}")
            ]
            if row.get("question_type", "multiple-choice") != "multiple-choice":
                prompt = f"\n{row['question']}\n\n        "
                out.append(
                    Item(
                        "MMMU-Medical-val",
                        row["id"],
                        "closed",
                        row["question"],
                        prompt + prompts.CLOSED_DIRECT,
                        str(row["answer"]),
                        images,
                    )
                )
                continue
            choices = ast.literal_eval(row["options"])
            options = {LETTERS[i]: str(c) for i, c in enumerate(choices)}
            listing = "".join(f"({k}) {_mmmu_text(v)}\n" for k, v in options.items())
            prompt = f"\n{row['question']}\n\n{listing}\n\n        "
            out.append(
                Item(
                    "MMMU-Medical-val",
                    row["id"],
                    "mcq",
                    row["question"],
                    prompt + prompts.MCQ_DIRECT,
                    str(row["answer"]).upper(),
                    images,
                    options,
                    meta={"subject": subject},
                )
            )
    return out


def medxpertqa(split: str) -> Loader:
    def load(folder: Path, cache: Path) -> list[Item]:
        """TsinghuaC3I/MedXpertQA: ``MM/test.jsonl`` or ``Text/test.jsonl``; ``images/``."""
        out = []
        for row in rows(folder / split, "test"):
            require(row, "id", "question", "options", "label", where=f"MedXpertQA-{split}")
            images = [
                image_file(f"images/{name}", folder, cache) for name in row.get("images") or []
            ]
            out.append(
                _mcq(
                    f"MedXpertQA-{split}",
                    str(row["id"]),
                    row["question"],
                    dict(row["options"]),
                    row["label"],
                    images=images,
                    meta={
                        **{k: row.get(k) for k in ("medical_task", "body_system")},
                        "image_labels": True,
                    },
                )
            )
        return out

    return load


def lettered(bench: str, split: str, answer_key: str, sep: str) -> Loader:
    def load(folder: Path, cache: Path) -> list[Item]:
        """Rows with ``question``, ``options`` ({"A": ...}) and the answer letter."""
        out = []
        for n, row in enumerate(rows(folder, split)):
            require(row, "question", "options", answer_key, where=f"{bench} row {n}")
            options = {str(k): str(v) for k, v in dict(row["options"]).items() if v is not None}
            out.append(
                _mcq(
                    bench,
                    str(row.get("id", n)),
                    row["question"],
                    options,
                    str(row[answer_key]),
                    sep=sep,
                )
            )
        return out

    return load


def medmcqa(folder: Path, cache: Path) -> list[Item]:
    """openlifescienceai/medmcqa snapshot: ``data/validation-*.parquet`` (opa..opd, ``cop``
    0-3), or the original release's ``dev.json`` lines (``cop`` 1-4)."""
    try:
        files = [(p, 0) for p in folder.rglob("validation*.parquet")] or []
        if not files:
            files = [(folder / "dev.json", 1)] if (folder / "dev.json").is_file() else []
    except OSError as exc:
        raise DatasetError(str(exc)) from exc
    if not files:
        raise DatasetError(f"no validation parquet or dev.json under {folder}")
    out = []
    for path, base in files:
        lines = read_rows(path) if path.suffix == ".parquet" else _json_lines(path)
        for n, row in enumerate(lines):
            require(row, "question", "opa", "opb", "opc", "opd", "cop", where=f"MedMCQA {n}")
            options = dict(
                zip("ABCD", (str(row[k]) for k in ("opa", "opb", "opc", "opd")), strict=True)
            )
            answer = "ABCD"[int(row["cop"]) - base]
            out.append(_mcq("MedMCQA", str(row.get("id", n)), row["question"], options, answer))
    return out


def pubmedqa(folder: Path, cache: Path) -> list[Item]:
    """openlifescienceai/pubmedqa snapshot: test rows of ``{"data": {"Question", "Options",
    "Context", "Correct Option"}}``; the context goes before the question."""
    out = []
    for n, row in enumerate(rows(folder, "test")):
        data = row.get("data", row)
        require(data, "Question", "Options", "Context", "Correct Option", where=f"PubMedQA {n}")
        context = "\n".join(prompts.untrusted(c) for c in data["Context"])
        options = {k: str(v) for k, v in dict(data["Options"]).items()}
        out.append(
            _mcq(
                "PubMedQA",
                str(row.get("id", n)),
                data["Question"],
                options,
                data["Correct Option"],
                sep=".",
                prefix=f"Context: {context}\n",
            )
        )
    return out


MMLU_MEDICAL = (
    "anatomy",
    "clinical_knowledge",
    "college_biology",
    "college_medicine",
    "medical_genetics",
    "professional_medicine",
    "nutrition",
    "virology",
    "high_school_biology",
)


def mmlu_medical(folder: Path, cache: Path) -> list[Item]:
    """cais/mmlu snapshot, MedEvalKit's medical subjects: ``<subject>/test-*.parquet``
    (question, choices, answer 0-3). MedEvalKit's loader cannot run (a name error on
    ``context``; the choices joined into one string before they are listed)."""
    out = []
    for subject in MMLU_MEDICAL:
        for n, row in enumerate(rows(folder / subject, "test")):
            require(row, "question", "choices", "answer", where=f"MMLU {subject} {n}")
            options = {LETTERS[i]: str(c) for i, c in enumerate(row["choices"])}
            out.append(
                _mcq(
                    "MMLU-medical",
                    f"{subject}-{n}",
                    row["question"],
                    options,
                    LETTERS[int(row["answer"])],
                    sep=".",
                    meta={"subject": subject},
                )
            )
    return out


def _json_lines(path: Path) -> list[dict[str, Any]]:
    text = path.read_text(encoding="utf-8").strip()
    if text.startswith("["):
        return list(read_rows(path))
    return [json.loads(line) for line in text.splitlines() if line.strip()]
