"""The benchmarks ``lingshu eval`` knows, by MedEvalKit's names, and where each is read from."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from evals import loaders, prompts
from evals.items import DatasetError, Item
from evals.tables import image_file, read_rows, require


def report_generation(bench: str) -> loaders.Loader:
    def load(folder: Path, cache: Path) -> list[Item]:
        """``test.json``: [{"id", "image": [names], "findings", "impression"}]; ``images/``.

        Both report benchmarks get MedEvalKit's report prompt (its IU-Xray loader calls a
        misspelt ``get_report_generation_promp`` and stops); an empty section is "None" in the
        reference (MedEvalKit computes that and then writes the raw empty string)."""
        out = []
        for n, row in enumerate(read_rows(folder / "test.json")):
            require(row, "image", "findings", "impression", where=f"{bench} item {n}")
            findings, impression = str(row["findings"]).strip(), str(row["impression"]).strip()
            if not findings and not impression:
                continue
            names = row["image"] if isinstance(row["image"], list) else [row["image"]]
            images = [image_file(f"images/{name}", folder, cache) for name in names]
            reference = f"Findings: {findings or 'None'} Impression: {impression or 'None'}."
            out.append(
                Item(
                    bench,
                    str(row.get("id", n)),
                    "report",
                    prompts.REPORT_PROMPT,
                    prompts.REPORT_PROMPT,
                    reference,
                    images,
                    meta={"image_labels": True},
                )
            )
        return out

    return load


@dataclass(frozen=True)
class Benchmark:
    name: str
    folder: str
    load: Callable[[Path, Path], list[Item]]
    layout: str


def _consult(folder: Path, cache: Path) -> list[Item]:
    from evals.consult import load

    return load(folder, cache)


def _fhir(folder: Path, cache: Path) -> list[Item]:
    from evals.fhir_tasks import load

    return load(folder, cache)


def _ddxplus(folder: Path, cache: Path) -> list[Item]:
    from evals.ddxplus import load

    return load(folder, cache)


BENCHMARKS: dict[str, Benchmark] = {
    b.name: b
    for b in (
        Benchmark("VQA_RAD", "VQA_RAD", loaders.vqa_rad, "data/test-*.parquet (hub snapshot)"),
        Benchmark("SLAKE", "SLAKE", loaders.slake, "test.json + imgs/"),
        Benchmark("PATH_VQA", "PATH_VQA", loaders.path_vqa, "data/test-*.parquet (hub snapshot)"),
        Benchmark("PMC_VQA", "PMC_VQA", loaders.pmc_vqa, "test_2.csv + figures/ or images/"),
        Benchmark(
            "OmniMedVQA",
            "OmniMedVQA",
            loaders.omnimedvqa,
            "QA_information/Open-access/*.json + Images/",
        ),
        Benchmark(
            "MMMU-Medical-val",
            "MMMU",
            loaders.mmmu_medical,
            "<Subject>/validation-*.parquet for the five Health and Medicine subjects",
        ),
        Benchmark(
            "MedXpertQA-MM", "MedXpertQA", loaders.medxpertqa("MM"), "MM/test.jsonl + images/"
        ),
        Benchmark("MedXpertQA-Text", "MedXpertQA", loaders.medxpertqa("Text"), "Text/test.jsonl"),
        Benchmark(
            "MedQA_USMLE",
            "MedQA_USMLE",
            loaders.lettered("MedQA_USMLE", "test", "answer_idx", ". "),
            "*test*.jsonl or data/test-*.parquet (question, options, answer_idx)",
        ),
        Benchmark("MedMCQA", "MedMCQA", loaders.medmcqa, "data/validation-*.parquet or dev.json"),
        Benchmark("PubMedQA", "PubMedQA", loaders.pubmedqa, "*test*.jsonl|parquet ({data: ...})"),
        Benchmark(
            "Medbullets_op4",
            "Medbullets_op4",
            loaders.lettered("Medbullets_op4", "train", "answer_idx", "."),
            "data/train-*.parquet (question, options, answer_idx)",
        ),
        Benchmark(
            "Medbullets_op5",
            "Medbullets_op5",
            loaders.lettered("Medbullets_op5", "train", "answer_idx", "."),
            "data/train-*.parquet (question, options, answer_idx)",
        ),
        Benchmark("MMLU-medical", "MMLU", loaders.mmlu_medical, "<subject>/test-*.parquet"),
        Benchmark("IU_XRAY", "IU_XRAY", report_generation("IU_XRAY"), "test.json + images/"),
        Benchmark("MIMIC_CXR", "MIMIC_CXR", report_generation("MIMIC_CXR"), "test.json + images/"),
        Benchmark("FHIR", "FHIR", _fhir, "Bulk NDJSON (*.ndjson) + tasks.jsonl"),
        Benchmark("Consult", "Consult", _consult, "agentclinic_medqa.jsonl (AgentClinic cases)"),
        Benchmark(
            "DDXPlus",
            "DDXPlus",
            _ddxplus,
            "release_test_patients.csv (or .zip), release_evidences.json, release_conditions.json",
        ),
    )
}


def find(name: str) -> Benchmark:
    """A benchmark by name, ignoring case, ``-`` and ``_`` (``vqa-rad`` is VQA_RAD)."""

    def key(text: str) -> str:
        return text.lower().replace("-", "").replace("_", "")

    for bench in BENCHMARKS.values():
        if key(bench.name) == key(name):
            return bench
    known = ", ".join(BENCHMARKS)
    raise DatasetError(f"unknown benchmark {name!r}; known: {known}")


def load_items(name: str, data: Path, cache: Path, limit: int | None = None) -> list[Item]:
    """The benchmark's items from ``data/<its folder>``, the first ``limit`` of them."""
    bench = find(name)
    folder = data / bench.folder
    if not folder.is_dir():
        raise DatasetError(f"{bench.name}: no folder {folder} (expected {bench.layout})")
    items = bench.load(folder, cache / bench.folder)
    if not items:
        raise DatasetError(f"{bench.name}: no items in {folder}")
    ids = [i.id for i in items]
    if len(set(ids)) != len(ids):
        raise DatasetError(f"{bench.name}: item ids repeat in {folder}")
    return items[:limit] if limit else items
