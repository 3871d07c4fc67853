"""Findings in words -> HPO terms: what a clinician's sentence should and should not yield."""

from __future__ import annotations

from knowledge.phenotypes import lab_term, most_specific, terms_in_text


def ids(text: str) -> set[str]:
    return {f.hpo_id for f in most_specific(terms_in_text(text))}


def test_clinical_words_and_term_names_map_to_hpo() -> None:
    found = ids("Tall, with long thin fingers, dislocated lenses and a dilated aortic root.")
    assert found == {"HP:0000098", "HP:0001166", "HP:0001083", "HP:0002616"}


def test_british_and_american_spellings_and_plurals() -> None:
    assert (
        ids("anaemia and haematuria")
        == ids("anemia and hematuria")
        == {
            "HP:0001903",
            "HP:0000790",
        }
    )
    assert ids("recurrent seizures") == ids("recurrent seizure") == {"HP:0001250"}


def test_negated_and_family_findings_are_not_the_patients() -> None:
    assert ids("No seizures. Denies hearing loss or ataxia.") == set()
    assert ids("His mother has diabetes; he has proteinuria.") == {"HP:0000093"}
    assert ids("Cardiomegaly; sudden cardiac death in his father.") == {"HP:0001640"}
    # a negation reaches only its own clause
    assert ids("No fever; he has splenomegaly.") == {"HP:0001744"}
    # 'absent reflexes' is a finding, not a negation
    assert "HP:0001265" in ids("absent reflexes and pes cavus")
    assert "HP:0001761" in ids("absent reflexes and pes cavus")


def test_a_wrapped_line_keeps_its_negation_and_triggers_are_not_findings() -> None:
    # notes wrap mid-sentence: the negation still reaches across the line break
    assert ids("Echocardiogram normal. He denies\n    seizures.") == set()
    # what sets a symptom off is a circumstance, not a finding
    found = ids("Burning pain in the hands, brought on by heat, exercise and fever.")
    assert found == {"HP:0003401"}


def test_the_most_specific_term_is_kept() -> None:
    # Sensorineural hearing impairment is a kind of hearing impairment: only it stays
    assert ids("hearing loss, sensorineural deafness") == {"HP:0000407"}


def test_abnormal_results_map_by_loinc_and_direction() -> None:
    assert lab_term("718-7", "low") == "HP:0001903"
    assert lab_term("777-3", "high") == "HP:0001894"
    assert lab_term("718-7", "high") is None
    assert lab_term("0000-0", "high") is None
