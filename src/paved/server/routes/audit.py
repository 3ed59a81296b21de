"""``/v1/audit``: the audit trail, for platform admins."""

from __future__ import annotations

from fastapi import APIRouter

from paved.server import _schemas as s
from paved.server._access import Reader
from paved.server._errors import ApiError
from paved.server._state import StoreDep
from paved.server.routes._query import Cursor, Limit, cursor_after, decode_cursor

__all__ = ["router"]

router = APIRouter(tags=["audit"])


@router.get("/v1/audit")
def list_audit(
    who: Reader, store: StoreDep, cursor: Cursor = None, limit: Limit = 100
) -> s.AuditPage:
    """The audit trail, oldest first (platform admins only)."""
    if not who.admin:
        raise ApiError(403, "forbidden", "the audit trail is for platform admins")
    page, more = store.audit_page(after=decode_cursor(cursor, int), limit=limit)
    return s.AuditPage(events=page, next_cursor=cursor_after(page[-1].id if more else None))
