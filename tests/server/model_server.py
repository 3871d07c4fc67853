"""Re-export of :mod:`testing.model_server` for the tests that import it from here
(``python -m tests.server.model_server`` still serves, as ``python -m testing.model_server``)."""

from testing.model_server import DelayedModelServer, ModelApp, echo_history, main, user_texts

__all__ = ["DelayedModelServer", "ModelApp", "echo_history", "main", "user_texts"]

if __name__ == "__main__":
    main()
