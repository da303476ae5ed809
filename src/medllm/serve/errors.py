"""Every error the service sends is OpenAI's error object, so OpenAI clients show its message:

    {"error": {"message": "...", "type": "invalid_request_error", "param": "model", "code": "model_not_found"}}

Messages never quote the request (it may be patient text) and never name a file on the server.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import HTTPException
from pydantic import BaseModel

# an absolute file path of two or more parts (not a URL, not one of our /v1/ routes)
_PATH = re.compile(r"(?<![\w:/.])(?:[A-Za-z]:)?/(?!v1/)(?:[\w.~+@-]+/)+[\w.~+@-]*")

_TYPES = {
    400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
    404: "not_found_error", 405: "invalid_request_error", 409: "conflict_error",
    413: "invalid_request_error", 422: "invalid_request_error", 429: "rate_limit_error",
}


class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorResponse(BaseModel):
    """OpenAI's error object."""

    error: ErrorDetail


class ApiError(HTTPException):
    """An HTTP error with OpenAI's `code` and `param`."""

    def __init__(self, status: int, message: str, *, code: str | None = None, param: str | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(status, message, headers=headers)
        self.code, self.param = code, param


def scrub(message: str) -> str:
    """The message without file paths of this server."""
    return _PATH.sub("<path>", message)


def error_body(status: int, message: str, *, code: str | None = None, param: str | None = None,
               type_: str | None = None) -> dict[str, Any]:
    kind = type_ or _TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return {"error": {"message": scrub(message), "type": kind, "param": param, "code": code}}


_DESCRIPTIONS = {
    400: "malformed request", 401: "no API key, or an unknown or revoked one",
    404: "no such model, run or route", 409: "the server runs without what this needs",
    413: "request body over the size limit",
    422: "the request does not validate (the error names the field, never its value)",
    429: "rate limit, or the model cannot take this request in time now; see Retry-After",
    500: "internal error (its type is in the server log)", 502: "the model backend failed",
}


def responses(*codes: int, by_ref: bool = False) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for error `codes`, each with the error object's schema as
    application/json. `by_ref`: for routes whose success is not JSON (HTML, text), which would
    otherwise document their errors under the success's media type."""
    out: dict[int | str, dict[str, Any]] = {}
    for c in codes:
        entry: dict[str, Any] = {"description": _DESCRIPTIONS.get(c, "error")}
        if by_ref:
            entry["content"] = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}
        else:
            entry["model"] = ErrorResponse
        if c == 429:
            entry["headers"] = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}}
        out[c] = entry
    return out

