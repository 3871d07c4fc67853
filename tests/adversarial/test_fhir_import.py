"""`lingshu ehr import` never moves data between patients and never loses good data for a bad line.

Real files through the real CLI and the real embedded SQLite store; the FHIR parser fuzzed
with hypothesis (it raises nothing but its documented error).
"""

from __future__ import annotations

import codecs
import contextlib
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from agent.cli import app
from knowledge.ehr import EmbeddedFhirStore
from knowledge.ehr.embedded import read_file_resources
from knowledge.ehr.parse import MalformedResource, validate

runner = CliRunner()
LOINC = "http://loinc.org"


def _patient(pid: str) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": pid, "gender": "female", "birthDate": "1970-01-01"}


def _obs(oid: str, pid: str, value: float = 1.0) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "2160-0"}]},
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": "2026-01-02",
        "valueQuantity": {"value": value, "unit": "mg/dL"},
    }


def _ndjson(path: Path, resources: list[Any]) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in resources) + "\n", encoding="utf-8")
    return path


class _Run:
    def __init__(self, result: Any) -> None:
        self.exit_code = result.exit_code
        self.output = " ".join(result.output.split())  # Rich wraps at the terminal width


def _import(db: Path, *args: str) -> _Run:
    return _Run(runner.invoke(app, ["ehr", "import", "--db", str(db), *args]))


def test_an_id_of_another_patient_is_refused_and_named_unless_replace(tmp_path: Path) -> None:
    db = tmp_path / "ehr.sqlite"
    first = _ndjson(tmp_path / "a.ndjson", [_patient("pa"), _patient("pb"), _obs("X", "pa", 1.0)])
    assert _import(db, str(first)).exit_code == 0
    moved = _ndjson(tmp_path / "b.ndjson", [_obs("X", "pb", 9.0), _obs("Y", "pb", 2.0)])
    result = _import(db, str(moved))
    assert result.exit_code == 0, result.output
    assert "Observation/X in b.ndjson line 1" in result.output
    assert "belongs to patient pa, not patient pb" in result.output
    assert "Imported 1 resources" in result.output and "skipped 1" in result.output
    store = EmbeddedFhirStore(db)
    assert [o["id"] for o in store.search("Observation", "pa")] == ["X"]
    assert store.search("Observation", "pa")[0]["valueQuantity"]["value"] == 1.0
    assert [o["id"] for o in store.search("Observation", "pb")] == ["Y"]
    store.close()
    # the same patient may update its own resource; --replace may move it
    again = _ndjson(tmp_path / "c.ndjson", [_obs("X", "pa", 3.0)])
    assert "Imported 1 resources" in _import(db, str(again)).output
    assert "skipped 0" in _import(db, "--replace", str(moved)).output
    store = EmbeddedFhirStore(db)
    assert store.search("Observation", "pa") == []
    assert {o["id"] for o in store.search("Observation", "pb")} == {"X", "Y"}
    store.close()


def test_bad_encodings_bom_depth_and_duplicates_are_skipped_and_named(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    good = [_patient("p1"), _obs("o1", "p1")]
    # a BOM .json Bundle, a UTF-16 NDJSON file, a line with a non-UTF-8 byte, a deep line
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": good[0]}]}
    (folder / "a_bom.json").write_bytes(codecs.BOM_UTF8 + json.dumps(bundle).encode())
    utf16 = "\n".join(json.dumps(r) for r in [_obs("o2", "p1"), _obs("o3", "p1")])
    (folder / "b_utf16.ndjson").write_bytes(utf16.encode("utf-16"))
    deep = '{"a": ' * 200 + '"x"' + "}" * 200
    lines = [
        json.dumps(_obs("o4", "p1")).encode(),
        b'{"resourceType": "Observation", "id": "bad\xff"}',
        json.dumps(_obs("o5", "p1")).replace('"final"', '"final", "x": ' + deep).encode(),
        b"[" * 100000 + b"]" * 100000,
        json.dumps(_obs("o4", "p1", 7.0)).encode(),
        json.dumps(_obs("o6", "p1")).encode(),
    ]
    (folder / "c_mixed.ndjson").write_bytes(b"\n".join(lines))
    (folder / "d_latin1.json").write_bytes(json.dumps(_obs("o7", "p1")).encode() + b" \xe9")
    (folder / "e_last.ndjson").write_text(json.dumps(_obs("o8", "p1")), encoding="utf-8")
    db = tmp_path / "ehr.sqlite"
    result = _import(db, str(folder))
    assert result.exit_code == 0, result.output
    out = result.output
    for named in (
        "c_mixed.ndjson line 2 (not UTF-8 text",
        "c_mixed.ndjson line 3 (JSON nested",
        "c_mixed.ndjson line 4 (JSON nested",
        "Observation/o4 in c_mixed.ndjson line 5: duplicate id in this file (first in "
        "c_mixed.ndjson line 1)",
        "d_latin1.json (not UTF-8 text",
    ):
        assert named in out, named
    assert "Imported 6 resources (5 Observation, 1 Patient), skipped 5, from 5 file(s)" in out
    store = EmbeddedFhirStore(db)
    ids = sorted(o["id"] for o in store.search("Observation", "p1"))
    assert ids == ["o2", "o3", "o4", "o6", "o8"]
    assert store.counts() == {"Patient": 1, "Observation": 5}
    first_o4 = next(o for o in store.search("Observation", "p1") if o["id"] == "o4")
    assert first_o4["valueQuantity"]["value"] == 1.0
    store.close()


# --- fuzzing: the parser raises MalformedResource or nothing ----------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
_types = st.sampled_from(
    [
        "Observation",
        "Patient",
        "Condition",
        "Bundle",
        "DocumentReference",
        "x",
        "",
        "__init__",
        "../Patient",
        "Observation/1",
        "MedicationRequest",
        "resource",
    ]
)
_resource = st.fixed_dictionaries(
    {"resourceType": _types},
    optional={
        "id": st.one_of(st.text(max_size=8), st.integers(), st.none()),
        "subject": _json,
        "code": _json,
        "valueQuantity": _json,
        "effectiveDateTime": st.one_of(st.text(max_size=25), st.integers()),
        "component": _json,
        "status": _json,
    },
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(resource=st.one_of(_resource, _json))
def test_validate_raises_only_its_documented_error(resource: Any) -> None:
    try:
        item = validate(resource, "fuzz")
    except MalformedResource as exc:
        assert "fuzz" in str(exc) or "resourceType" in str(exc)
    else:
        assert item.id and item.resource_type == resource["resourceType"]


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=300), suffix=st.sampled_from([".json", ".ndjson"]))
def test_reading_any_bytes_never_raises(tmp_path: Path, data: bytes, suffix: str) -> None:
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(data)
    for resource, where in read_file_resources(path):
        assert where.startswith(path.name)
        if resource is not None:
            with contextlib.suppress(MalformedResource):
                validate(resource, where)


def test_one_deep_entry_in_a_bundle_costs_only_itself(tmp_path: Path) -> None:
    deep = json.loads('{"a": ' * 100 + "1" + "}" * 100)
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"resource": _patient("p1")},
            {"resource": {**_obs("o1", "p1"), "extension": [deep]}},
            {"resource": _obs("o2", "p1")},
        ],
    }
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    result = _import(tmp_path / "ehr.sqlite", str(path))
    assert "bundle.json entry 2 (JSON nested deeper than 64 levels)" in result.output
    assert "Imported 2 resources (1 Observation, 1 Patient), skipped 1" in result.output


def test_a_file_of_many_bad_lines_is_counted_not_named_past_a_bound(
    tmp_path: Path, caplog: Any
) -> None:
    """Red team: 1,000,000 one-byte bad lines logged a million warnings (75 MB on stderr,
    231 MB of memory); the names are now bounded, the count stays true, the good line imports."""
    from knowledge.ehr.embedded import MAX_WARNINGS

    bad = MAX_WARNINGS + 1500
    path = tmp_path / "tiny.ndjson"
    path.write_text("x\n" * bad + json.dumps(_patient("pt")) + "\n", encoding="utf-8")
    db = tmp_path / "ehr.sqlite"
    with caplog.at_level("WARNING", logger="knowledge.ehr.embedded"):
        run = _import(db, str(path))
    assert run.exit_code == 0, run.output
    assert f"Imported 1 resources (1 Patient), skipped {bad}," in run.output
    assert f"... and {bad - 20} more skipped" in run.output
    assert len(caplog.records) <= MAX_WARNINGS + 1
    assert "the rest are counted, not named" in caplog.text
    store = EmbeddedFhirStore(db)
    report = store.import_file(path)
    assert report.skipped == bad and len(report.warnings) == MAX_WARNINGS
    assert report.warnings[0] == "tiny.ndjson line 1 (invalid JSON: Expecting value at column 1)"
    assert store.patient("pt") is not None
    store.close()
