"""Red-flag screen: urgent-action banners from the user's text and the patient's record.

Rules are data (``rules.yaml``), each citing the guideline its action follows. For
demonstration and education; not a validated triage tool. Usable without the agent::

    from knowledge.redflags import screen
    for flag in screen("crushing chest pain, BP 84/50"):
        print(flag.title, flag.action)
"""

from __future__ import annotations

from knowledge.redflags.screen import RedFlag, load_rules, screen

__all__ = ["RedFlag", "load_rules", "screen"]
