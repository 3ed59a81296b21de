"""Which catalog a command reads, said once on stderr when it is the platform's.

The local catalog is the default and goes unsaid; the platform's is named with the user it
knows the token as, so that after ``paved login`` an empty list is never mistaken for the
local one. ``--quiet`` says nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from paved.errors import PavedError
from paved.text import escaped

if TYPE_CHECKING:
    from paved.catalog import Catalog
    from paved.cli.output import Output

__all__ = ["say_catalog"]


def say_catalog(out: Output, catalog: Catalog) -> None:
    """``catalog: URL (logged in as USER)`` on stderr when ``catalog`` is the platform's."""
    if not catalog.shared or out.verbosity < 0:
        return
    try:
        caller = catalog.caller()
    except PavedError:  # the read itself went through: say where, without the user
        caller = None
    # one cell: whatever the platform calls the user, never a line of its own
    who = f" (logged in as {escaped(caller.user)})" if caller is not None else ""
    out.info(f"catalog: {catalog.location}{who}")
