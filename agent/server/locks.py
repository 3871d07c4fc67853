"""The per-session locks live in :mod:`agent.locks` (every face takes them); kept here for
the service's older imports."""

from agent.locks import SessionBusy, SessionLocks, store_locks

__all__ = ["SessionBusy", "SessionLocks", "store_locks"]
