"""Command-line interface: ``lingshu consult | chat | demo | doctor | vllm-command ...``.

Command modules register themselves on ``app`` when imported; ``agent.cli.app.COMMANDS``
names the module of each command, and a command's module is imported only when that
command runs, so ``lingshu --help`` and light commands start in well under a second
or two. A new command module adds its commands to ``COMMANDS`` (the CLI tests check
the table against what the modules register).
"""

from __future__ import annotations

from agent.cli.app import COMMANDS, app


def main() -> None:
    app()


__all__ = ["COMMANDS", "app", "main"]
