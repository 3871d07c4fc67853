"""``lingshu consult``'s documented exit codes: 0 answered, 1 failed, 2 input refused, 3 the
evidence brief (no model answered), each reached the way a user reaches it."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from agent.cli import app
from tests.loopback import free_port
from tests.openai_server import serving


def test_consult_exit_codes(tmp_path: Path) -> None:
    runner = CliRunner()
    helped = runner.invoke(app, ["consult", "--help"])
    assert helped.exit_code == 0
    words = " ".join(helped.stdout.split())
    for said in ("0 answered", "1 failed", "2 input refused", "3 no model answered"):
        assert said in words, words

    with serving([{"content": "Answered by the model."}]) as model:
        answered = runner.invoke(app, ["consult", "--base-url", model.base_url, "Chest pain?"])
    assert answered.exit_code == 0, answered.output
    assert "Answered by the model." in answered.stdout

    nobody = f"http://127.0.0.1:{free_port()}/v1"
    brief = runner.invoke(app, ["consult", "--json", "--base-url", nobody, "Chest pain?"])
    assert brief.exit_code == 3, brief.output
    assert '"produced_by": "evidence_brief"' in brief.stdout

    assert runner.invoke(app, ["consult", "   "]).exit_code == 2
    assert runner.invoke(app, ["consult", "-i", str(tmp_path / "no.png"), "Look"]).exit_code == 2

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with serving([{"content": "Answered."}]) as model:
        failed = runner.invoke(
            app,
            ["consult", "--base-url", model.base_url, "--report", str(blocker / "r.html"), "Q?"],
        )
    assert failed.exit_code == 1, failed.output
    assert "error: the turn failed" in failed.stderr
