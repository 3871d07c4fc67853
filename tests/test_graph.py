"""The consultation graph driven by the scripted model: what a user would notice."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.prebuilt import ToolRuntime

from agent.session import InputError, Lingshu, UnknownSession
from agent.settings import Settings
from tests.fakes import ScriptedChatModel, call
from tools.runtime import ToolArtifact, ToolContext, ToolError

PASSAGES = {
    "chest pain": "High-sensitivity troponin is the preferred biomarker for myocardial injury.",
    "pneumonia": "Obtain a chest radiograph to confirm community-acquired pneumonia.",
    "sepsis": "Measure lactate and obtain blood cultures before antibiotics.",
}


@tool(parse_docstring=True, response_format="content_and_artifact")
def lookup_guideline(
    topic: str, runtime: ToolRuntime[ToolContext, Any]
) -> tuple[str, ToolArtifact]:
    """Look up the guideline passage on a topic.

    Args:
        topic: The clinical topic, e.g. "chest pain".
    """
    text = PASSAGES.get(topic.lower())
    if text is None:
        raise ToolError(f"no passage on {topic!r}; topics: {', '.join(PASSAGES)}")
    eid = runtime.context.ledger.cite(
        "guideline", f"chunk-{topic}", label=f"Test guideline — {topic}", excerpt=text
    )
    return f'<guideline id="{eid}">{text}</guideline>', {"evidence": [eid]}


@tool(parse_docstring=True)
def slow_lookup(seconds: float) -> str:
    """A tool that takes its time.

    Args:
        seconds: How long to wait.
    """
    time.sleep(seconds)
    return "finally done"


def make_agent(
    tmp_path: Path, script: list[Any], **overrides: Any
) -> tuple[Lingshu, ScriptedChatModel]:
    settings = Settings(data_dir=tmp_path / "data", **overrides)
    model = ScriptedChatModel(script=script)
    return Lingshu(settings, model=model, tools=[lookup_guideline, slow_lookup]), model


def test_tool_round_then_cited_answer(tmp_path: Path) -> None:
    agent, model = make_agent(
        tmp_path,
        [
            "I will check the guideline.\n" + call("lookup_guideline", topic="chest pain"),
            "Acute coronary syndrome is likely; measure troponin [G1].",
        ],
    )
    result = agent.ask("62-year-old with crushing chest pain. Differential?")
    assert result.answer["produced_by"] == "model"
    assert result.answer["citations"] == ["G1"]
    (ref,) = result.answer["references"]
    assert ref["excerpt"] == PASSAGES["chest pain"]
    # The model saw the tool result as a <tool_response> in a user turn (prompted mode).
    second_prompt = model.prompts[1]
    assert "<tool_response>" in second_prompt[-1].text
    assert PASSAGES["chest pain"] in second_prompt[-1].text
    # The tool specs are in the system prompt, and never the injected context argument.
    system = second_prompt[0].text
    assert '"name": "lookup_guideline"' in system
    assert '"ctx"' not in system and '"runtime"' not in system
    assert result.answer["warnings"] == []


def test_several_calls_in_one_reply_run_and_keep_order(tmp_path: Path) -> None:
    agent, model = make_agent(
        tmp_path,
        [
            call("lookup_guideline", topic="pneumonia")
            + "\n"
            + call("lookup_guideline", topic="sepsis"),
            "Pneumonia with sepsis criteria [G1, G2].",
        ],
    )
    result = agent.ask("Fever, cough and hypotension.")
    evidence = result.evidence
    assert evidence["G1"]["excerpt"] == PASSAGES["pneumonia"]
    assert evidence["G2"]["excerpt"] == PASSAGES["sepsis"]
    responses = model.prompts[1][-1].text
    assert responses.index(PASSAGES["pneumonia"]) < responses.index(PASSAGES["sepsis"])
    assert result.answer["citations"] == ["G1", "G2"]


def test_malformed_call_gets_precise_repair_then_succeeds(tmp_path: Path) -> None:
    agent, model = make_agent(
        tmp_path,
        [
            "<tool_call>{name: lookup_guideline, topic: chest pain}</tool_call>",
            call("lookup_guideline", topic="chest pain"),
            "Troponin first [G1].",
        ],
    )
    result = agent.ask("Chest pain?")
    repair = model.prompts[1][-1].text
    assert "could not be used" in repair and "invalid JSON" in repair
    assert result.answer["citations"] == ["G1"]
    assert result.answer["warnings"] == []


def test_unknown_tool_and_bad_argument_are_named(tmp_path: Path) -> None:
    agent, model = make_agent(
        tmp_path,
        [
            call("order_ct_scan", region="chest"),
            call("lookup_guideline", subject="chest pain"),
            "I could not find the evidence I needed.",
        ],
    )
    agent.ask("Chest pain?")
    first_repair, second_repair = model.prompts[1][-1].text, model.prompts[2][-1].text
    assert "unknown tool 'order_ct_scan'" in first_repair
    assert "lookup_guideline" in first_repair and "slow_lookup" in first_repair
    assert "missing required argument 'topic'" in second_repair


def test_tool_error_reaches_the_model_not_the_user(tmp_path: Path) -> None:
    agent, model = make_agent(
        tmp_path, [call("lookup_guideline", topic="gout"), "No guideline on gout was available."]
    )
    result = agent.ask("Gout?")
    assert "no passage on 'gout'" in model.prompts[1][-1].text
    assert result.answer["produced_by"] == "model"
    audit = [e for e in agent.state(result.session_id)["audit"] if e["tool"] != "model"]
    assert audit[0]["tool"] == "lookup_guideline" and audit[0]["status"] == "error"


def test_hung_tool_times_out_and_turn_goes_on(tmp_path: Path) -> None:
    agent, model = make_agent(
        tmp_path,
        [call("slow_lookup", seconds=5), "The lookup timed out, so I answer without it."],
        tool_timeout_s=0.3,
    )
    started = time.perf_counter()
    result = agent.ask("Anything?")
    assert time.perf_counter() - started < 4
    assert "did not finish within 0.3 s" in model.prompts[1][-1].text
    assert result.answer["produced_by"] == "model"


def test_tool_budget_exhaustion_still_answers_and_says_so(tmp_path: Path) -> None:
    topics = ["chest pain", "pneumonia", "sepsis"]
    agent, model = make_agent(
        tmp_path,
        [call("lookup_guideline", topic=t) for t in topics] + ["Answer from what I have [G1, G2]."],
        max_tool_rounds=2,
    )
    result = agent.ask("Everything?")
    assert "tool budget of this turn is spent" in model.prompt_text(2)
    assert any("tool budget (2 rounds)" in w for w in result.answer["warnings"])
    # The third call was not run: only two passages were gathered.
    assert sorted(result.evidence) == ["G1", "G2"]


def test_repair_budget_exhaustion_ends_the_turn_cleanly(tmp_path: Path) -> None:
    garbage = "<tool_call>{{{ ]]]</tool_call>"
    agent, _ = make_agent(
        tmp_path, [garbage, garbage, garbage, "Back to normal [G1]?"], max_repairs=2
    )
    result = agent.ask("Chest pain?")
    assert result.answer["produced_by"] == "none"
    assert any("tool calls could not be used" in w for w in result.answer["warnings"])
    # The session is still usable: the next turn works (and the bad citation is caught).
    agent.deps.model.script.extend(["Plain answer now."])
    nxt = agent.ask("And now?", session_id=result.session_id)
    assert nxt.answer["produced_by"] == "model"


def test_unknown_citation_is_repaired_with_the_real_ids(tmp_path: Path) -> None:
    agent, model = make_agent(
        tmp_path,
        [
            call("lookup_guideline", topic="chest pain"),
            "ACS is likely [G1]; see also [G7].",
            "ACS is likely [G1].",
        ],
    )
    result = agent.ask("Chest pain?")
    repair = model.prompts[2][-1].text
    assert "G7 does not exist; the guideline evidence in this session is G1" in repair
    assert result.answer["citations"] == ["G1"] and result.answer["unknown_citations"] == []


def test_unresolved_citation_stays_visible(tmp_path: Path) -> None:
    agent, _ = make_agent(tmp_path, ["Claim [E4]."] * 3, max_repairs=2)
    result = agent.ask("Chest pain?")
    assert result.answer["unknown_citations"] == ["E4"]
    assert any("E4 does not exist" in w for w in result.answer["warnings"])


def test_garbage_reply_is_rejected(tmp_path: Path) -> None:
    agent, model = make_agent(
        tmp_path, ["#$%^ 12 ## <|im_start|>", "", "A readable answer.", "Follow-up answer."]
    )
    result = agent.ask("Chest pain?")
    assert "not readable text" in model.prompts[1][-1].text
    assert "empty" in model.prompts[2][-1].text
    assert result.text == "A readable answer."
    # The next turn's prompt carries the good answer, not the rejected replies or repairs.
    agent.ask("And then?", session_id=result.session_id)
    seen = model.prompt_text(-1)
    assert "A readable answer." in seen
    assert "#$%^" not in seen and "could not be used" not in seen


def test_multi_turn_memory_survives_a_new_process(tmp_path: Path) -> None:
    agent, _ = make_agent(tmp_path, [call("lookup_guideline", topic="chest pain"), "ACS [G1]."])
    first = agent.ask("Patient with chest pain radiating to the jaw.")
    # A new Lingshu (as a new process would build) on the same session file.
    again, model = make_agent(
        tmp_path,
        [
            call("lookup_guideline", topic="sepsis"),
            call("lookup_guideline", topic="chest pain"),
            "Still ACS [G1], sepsis unlikely [G2].",
        ],
    )
    second = again.ask("What about sepsis?", session_id=first.session_id)
    seen = model.prompt_text(0)
    assert "radiating to the jaw" in seen and "ACS [G1]." in seen
    # Ids are stable: the chest-pain passage keeps G1, the new passage gets G2.
    assert second.evidence["G1"]["key"] == "chunk-chest pain"
    assert second.evidence["G2"]["key"] == "chunk-sepsis"
    assert [t["role"] for t in again.turns(first.session_id)] == ["user", "assistant"] * 2


def test_model_down_gives_evidence_brief_and_next_turn_retries(tmp_path: Path) -> None:
    import openai

    down = openai.APIConnectionError(request=__import__("httpx").Request("POST", "http://x"))
    agent, model = make_agent(tmp_path, [down, "Now the model answers."])
    first = agent.ask("Chest pain with hypotension?")
    assert first.answer["produced_by"] == "evidence_brief"
    assert "produced without a reasoning model" in first.text
    assert "cannot connect to the model server" in first.text
    second = agent.ask("Try again please.", session_id=first.session_id)
    assert second.text == "Now the model answers."
    # The first question was kept and shown to the model on the retry.
    assert "Chest pain with hypotension?" in model.prompt_text(-1)
    # The brief itself is not passed off as the model's words.
    assert "Evidence brief" not in model.prompt_text(-1)


def test_orphaned_calls_from_a_dead_turn_are_closed(tmp_path: Path) -> None:
    agent, model = make_agent(tmp_path, [call("lookup_guideline", topic="chest pain")])
    sid = agent.new_session()
    config = {"configurable": {"thread_id": sid}}
    # The process "dies" after the model asked for a tool and before the tool ran.
    agent.graph.invoke(
        {"messages": [HumanMessage(content="Chest pain?")]}, config, interrupt_before=["act"]
    )
    last = agent.state(sid)["messages"][-1]
    assert isinstance(last, AIMessage) and last.tool_calls
    model.script.append("Answer after the interruption.")
    result = agent.ask("Are you still there?", session_id=sid)
    assert result.text == "Answer after the interruption."
    messages = agent.state(sid)["messages"]
    closing = messages[messages.index(last) + 1]
    assert isinstance(closing, ToolMessage) and closing.status == "error"
    assert "interrupted" in closing.text


def test_bad_input_is_refused_and_session_stays_usable(tmp_path: Path) -> None:
    agent, _ = make_agent(tmp_path, ["First answer.", "Second answer."])
    with pytest.raises(InputError, match="empty"):
        agent.ask("   ")
    with pytest.raises(UnknownSession):
        agent.ask("Hello?", session_id="no-such-session")
    first = agent.ask("Hello?")
    with pytest.raises(InputError, match="no such image file"):
        agent.ask("Look", session_id=first.session_id, images=[tmp_path / "missing.png"])
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(InputError, match=r"broken\.png"):
        agent.ask("Look", session_id=first.session_id, images=[broken])
    second = agent.ask("Still there?", session_id=first.session_id)
    assert second.text == "Second answer."
    assert [t["text"] for t in agent.turns(first.session_id) if t["role"] == "user"] == [
        "Hello?",
        "Still there?",
    ]


def test_patient_of_a_session_cannot_change(tmp_path: Path) -> None:
    agent, _ = make_agent(tmp_path, ["ok"])
    sid = agent.new_session(patient_id="patient-a")
    with pytest.raises(InputError, match="about patient patient-a"):
        agent.ask("Hi", session_id=sid, patient_id="patient-b")


def test_turns_on_an_event_loop_give_the_same_answers(tmp_path: Path) -> None:
    # The service runs turns with ``aask``; the tool runs on a thread, the rest on the loop.
    script = [call("lookup_guideline", topic="chest pain"), "ACS is likely [G1]."]
    threaded, _ = make_agent(tmp_path / "a", list(script))
    looped, model = make_agent(tmp_path / "b", [*script, "Still ACS [G1]."])
    assert looped.runs_on_loop
    expected = threaded.ask("Crushing chest pain, differential?")

    async def two_turns() -> tuple[Any, Any]:
        first = await looped.aask("Crushing chest pain, differential?")
        return first, await looped.aask("And now?", session_id=first.session_id)

    first, second = asyncio.run(two_turns())
    assert first.text == expected.text and first.answer["citations"] == ["G1"]
    assert first.evidence["G1"]["excerpt"] == PASSAGES["chest pain"]
    assert second.answer["citations"] == ["G1"]
    assert "Crushing chest pain" in model.prompt_text(-1)  # the second turn saw the first
    assert [t["role"] for t in looped.turns(first.session_id)] == ["user", "assistant"] * 2
    with pytest.raises(UnknownSession):
        asyncio.run(looped.aask("Hello?", session_id="nosuchsession"))


@pytest.mark.parametrize("every, per_turn", [("step", 4), ("turn", 1)])
def test_checkpoint_every_step_or_once_per_turn(tmp_path: Path, every: str, per_turn: int) -> None:
    script = [call("lookup_guideline", topic="sepsis"), "Sepsis bundle now [G1].", "Yes [G1]."]
    agent, _ = make_agent(tmp_path, script, checkpoint_every=every)
    sid = agent.new_session()
    config = {"configurable": {"thread_id": sid}}
    before = len(list(agent.checkpointer.list(config)))
    agent.ask("Hypotension and fever.", session_id=sid)
    written = len(list(agent.checkpointer.list(config))) - before
    # intake, reason, act, reason, verify, respond (and the input): committed one by one,
    # or once as the turn ends.
    assert written >= per_turn if every == "step" else written == per_turn
    assert agent.ask("Still sepsis?", session_id=sid).answer["citations"] == ["G1"]
    assert [t["role"] for t in agent.turns(sid)] == ["user", "assistant"] * 2


class _AwaitedScript(ScriptedChatModel):
    """The scripted model, counting the calls made through its async path."""

    awaited: int = 0

    async def _agenerate(
        self, messages: Any, stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> Any:
        self.awaited += 1
        return self._generate(messages, stop=stop, **kw)


def test_one_compiled_graph_runs_sync_and_async_bodies(tmp_path: Path) -> None:
    """invoke calls the model synchronously; ainvoke awaits it: the same graph, same answer."""
    from agent.graph import build_graph
    from agent.resources import Resources
    from knowledge.imaging import ImageStore

    model = _AwaitedScript(script=[call("lookup_guideline", topic="sepsis"), "Lactate first [G1]."])
    settings = Settings(data_dir=tmp_path / "data")
    resources = Resources(images=ImageStore(tmp_path / "images"))
    graph = build_graph(settings, model=model, tools=[lookup_guideline], resources=resources)
    turn = {"messages": [HumanMessage("Suspected sepsis: first steps?")]}
    sync = graph.invoke(turn)
    assert model.awaited == 0 and sync["answer"]["text"] == "Lactate first [G1]."
    model.script.extend([call("lookup_guideline", topic="sepsis"), "Lactate first [G1]."])
    looped = asyncio.run(graph.ainvoke(turn))
    assert model.awaited == 2  # both model calls of the turn went through the async path
    assert looped["answer"]["text"] == sync["answer"]["text"]
    assert [r["label"] for r in looped["evidence"].values()] == ["Test guideline — sepsis"]
    assert not hasattr(graph, "deps")  # callers reach the model through Lingshu.deps


def test_tokens_stream_from_the_reason_node_on_both_paths(tmp_path: Path) -> None:
    """A streaming model's chunks reach ``stream_mode="messages"``, tagged with the node."""
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel

    from agent.graph import build_graph
    from agent.resources import Resources
    from knowledge.imaging import ImageStore

    words = "No tools needed for this short answer."

    def graph_for() -> Any:
        model = GenericFakeChatModel(messages=iter([AIMessage(words)]))
        resources = Resources(images=ImageStore(tmp_path / "images"))
        settings = Settings(data_dir=tmp_path / "data", tool_calling="prompted")
        return build_graph(settings, model=model, tools=[], resources=resources)

    turn = {"messages": [HumanMessage("Explain briefly.")], "mode": "education"}
    chunks = [
        (msg.text, meta["langgraph_node"])
        for msg, meta in graph_for().stream(turn, stream_mode="messages")
        if msg.text
    ]

    async def collect() -> list[tuple[str, str]]:
        stream = graph_for().astream(turn, stream_mode="messages")
        return [(msg.text, meta["langgraph_node"]) async for msg, meta in stream if msg.text]

    for got in (chunks, asyncio.run(collect())):
        assert len(got) > 1, got  # streamed in pieces, not one final message
        assert {node for _, node in got} == {"reason"}
        assert "".join(text for text, _ in got) == words
