"""Re-export of the fault modes of :mod:`testing.openai_server` for the tests here."""

from testing.faults import FAULTS
from testing.openai_server import FaultyModelServer, faulty

__all__ = ["FAULTS", "FaultyModelServer", "faulty"]
