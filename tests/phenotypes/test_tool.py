"""The phenotype_differential tool on a synthetic rare-disease record (real FHIR store)."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from tests.phenotypes.records import PID
from tools.evidence import EvidenceLedger
from tools.phenotypes import offer_when, phenotype_differential
from tools.runtime import ToolContext, ToolError, call_tool


def run(ctx: ToolContext, **args: Any) -> ToolMessage:
    message = call_tool(phenotype_differential, ctx, call_id="p1", **{"findings": "", **args})
    assert isinstance(message, ToolMessage)
    return message


def test_record_findings_rank_the_disease_first_with_citations(rare_store: Any) -> None:
    ctx = ToolContext(ledger=EvidenceLedger(), patient_id=PID, ehr=rare_store)
    message = run(ctx)
    data = message.artifact["data"]
    top = data["candidates"][0]
    assert "Fabry" in top["name"]
    assert {top["id"], *top["other_ids"]} & {"OMIM:301500", "ORPHA:324"}
    terms = {t["id"] for t in data["terms"]}
    # from the letter, the problem list and the flagged results; not the denied seizures,
    # not the father's hearing loss, not the normal haemoglobin
    assert {"HP:0003401", "HP:0000966", "HP:0001014", "HP:0007957", "HP:0000093"} <= terms
    assert not terms & {"HP:0001250", "HP:0000365", "HP:0001903"}
    # each record finding is cited as the resource it came from
    for item in data["terms"]:
        assert item["source"].split("/")[0] in {"Condition", "Observation", "DocumentReference"}
    cited = message.artifact["evidence"]
    kinds = {ctx.ledger.get(e)["kind"] for e in cited}
    assert kinds == {"ehr", "guideline"}
    # the candidate is its own evidence, resolving to the HPO annotation and the OMIM/Orpha entry
    first_g = next(e for e in cited if e.startswith("G"))
    record = ctx.ledger.get(first_g)
    assert record["citation"]["disease_id"] == top["id"]
    assert record["citation"]["url"].startswith(("https://omim.org/", "https://www.orpha.net/"))
    assert f"[{first_g}]" in message.content and "Human Phenotype Ontology" in str(
        record["citation"]
    )
    assert "Marfan" not in message.content.split("Candidates")[0]  # not the other patient's


def test_the_shipped_demo_patient(tmp_path: Any) -> None:
    from knowledge.ehr import ensure_demo_patients

    store = ensure_demo_patients(tmp_path / "ehr.sqlite")
    try:
        ctx = ToolContext(ledger=EvidenceLedger(), patient_id="burning-pain", ehr=store)
        data = run(ctx, k=3).artifact["data"]
    finally:
        store.close()
    assert data["candidates"][0]["name"] == "Fabry disease"
    terms = {t["id"] for t in data["terms"]}
    assert "HP:0001712" in terms  # left ventricular hypertrophy, as recorded
    assert not terms & {"HP:0001250", "HP:0001945"}  # denied seizures; fever as a trigger


def test_reported_findings_alone_without_a_record() -> None:
    ctx = ToolContext(ledger=EvidenceLedger())
    message = run(
        ctx,
        findings="tall, arachnodactyly, ectopia lentis, dilated aortic root, "
        "pectus excavatum, scoliosis",
        k=10,
    )
    names = [c["name"].lower() for c in message.artifact["data"]["candidates"]]
    assert any("marfan syndrome" in n for n in names)
    assert "(reported)" in message.content


def test_nothing_recognised_is_a_clear_error() -> None:
    with pytest.raises(ToolError, match="No phenotype"):
        run(ToolContext(ledger=EvidenceLedger()), findings="the weather was nice")


def test_offered_for_a_multi_system_picture_or_when_asked() -> None:
    def state(*texts: str, synopsis: str = "") -> dict[str, Any]:
        return {"messages": [HumanMessage(t) for t in texts], "synopsis": synopsis}

    assert offer_when(state("Could this be a rare genetic disease?"))
    assert offer_when(state("Burning pain in the hands, proteinuria and corneal opacities."))
    assert not offer_when(state("62-year-old with crushing chest pain."))
    assert not offer_when(state("Blood pressure review.", synopsis="hypertension; diabetes"))
    # framework-added messages (repairs) are not the clinician's words
    repair = HumanMessage("rare syndrome", additional_kwargs={"lingshu": "repair"})
    assert not offer_when({"messages": [repair, AIMessage("ok")]})


def test_a_small_output_budget_shows_whole_candidates_and_says_what_is_left(
    rare_store: Any,
) -> None:
    ctx = ToolContext(
        ledger=EvidenceLedger(), patient_id=PID, ehr=rare_store, max_output_chars=1500
    )
    message = run(ctx, k=10)
    assert len(message.content) <= 1500
    shown = message.artifact["data"]["candidates"]
    assert 1 <= len(shown) < 10 and "more candidates not shown" in message.content
    # every id the result cites is in the text the model sees, and nothing else is cited
    for eid in message.artifact["evidence"]:
        assert f"[{eid}]" in message.content
    assert len(ctx.ledger.ids("guideline")) == len(shown)


def test_every_record_read_is_bounded(rare_store: Any) -> None:
    counts: list[Any] = []

    class Counting:
        def __getattr__(self, name: str) -> Any:
            return getattr(rare_store, name)

        def search(self, *args: Any, **kwargs: Any) -> Any:
            counts.append((args[0], kwargs.get("count")))
            return rare_store.search(*args, **kwargs)

    # the tool's own reads, not the redaction's
    extras = {"ehr_show_identifiers": True}
    run(ToolContext(ledger=EvidenceLedger(), patient_id=PID, ehr=Counting(), extras=extras))
    assert counts and None not in [c for _, c in counts], counts
