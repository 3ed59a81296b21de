"""Print the platform's OpenAPI document: ``python -m paved.server.openapi > docs/openapi.json``."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from paved.server import create_app, openapi_document, sqlite_url

__all__ = ["main"]


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(sqlite_url(Path(folder) / "platform.db"))
        sys.stdout.write(openapi_document(app))
        app.state.engine.dispose()


if __name__ == "__main__":
    main()
