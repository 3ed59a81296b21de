"""Errors as the API answers them: always a JSON body with a stable code, never a trace.

A refusal to a mutation endpoint is audited here unless the router audited it already (with
its own target and detail).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from paved.server import _schemas as s
from paved.server._audit import audit_refusal, printable

__all__ = ["ERRORS", "ERROR_RESPONSES", "ApiError", "add_error_handlers", "error"]

log = logging.getLogger("paved.server")

ERRORS: dict[int, str] = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    411: "length_required",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "too_many_requests",
}
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": s.ErrorBody, "description": name} for code, name in ERRORS.items()
}


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        audited: bool = False,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        #: Headers of the answer, such as ``Retry-After`` of a 429.
        self.headers = headers or {}
        #: Whether the refusal is in the audit trail already (with its own target and detail).
        self.audited = audited


def error(status: int, code: str, message: str, detail: Any = None) -> JSONResponse:
    body: dict[str, Any] = {"error": code, "message": message}
    if detail is not None:
        body["detail"] = detail
    return JSONResponse(body, status_code=status)


async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
    if not exc.audited:
        await run_in_threadpool(audit_refusal, request, exc.code, exc.message)
    answer = error(exc.status, exc.code, exc.message)
    answer.headers.update(exc.headers)
    return answer


async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = list(exc.errors())
    detail = [
        {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))} for e in errors
    ][:20]
    # A rule of paved's own (a free-text field, the repository rule) says what to do:
    # its words become the message; pydantic's own checks keep the generic one.
    message = "the request is not valid"
    if errors and errors[0].get("type") == "value_error":
        cause = (errors[0].get("ctx") or {}).get("error")
        message = printable(str(cause), 1000) if cause is not None else message
    await run_in_threadpool(
        audit_refusal, request, "invalid", str(detail[0]["msg"]) if detail else ""
    )
    return error(422, "invalid", message, detail)


async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = ERRORS.get(exc.status_code, "error")
    await run_in_threadpool(audit_refusal, request, code, str(exc.detail))
    return error(exc.status_code, code, str(exc.detail))


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unexpected %s on %s %s", type(exc).__name__, request.method, request.url.path)
    try:
        await run_in_threadpool(audit_refusal, request, "internal", type(exc).__name__)
    except Exception:  # noqa: BLE001 - the database itself may be what failed
        log.error("the failure above could not be audited")
    return error(500, "internal", "the platform failed; try again, then tell its owners")


def add_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _invalid)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected)
