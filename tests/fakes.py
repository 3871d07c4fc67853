"""Re-export of :mod:`testing.fakes` for the tests that import it from here."""

from testing.fakes import EveryToolChatModel, ScriptedChatModel, Step, call

__all__ = ["EveryToolChatModel", "ScriptedChatModel", "Step", "call"]
