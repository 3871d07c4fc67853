"""``python -m agent.cli`` runs the ``lingshu`` command."""

from agent.cli import main

main()
