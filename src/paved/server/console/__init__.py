"""The web console served at ``/`` by ``paved platform serve``: server-rendered pages over the
platform's store (docs/console.md), signed in with a platform token exchanged for a session."""

from __future__ import annotations

from paved.server.console._pages import router
from paved.server.console._session import require_tls

__all__ = ["require_tls", "router"]
