"""One error path: every error is problem+json for the API, a friendly page for the storefront."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, json, render_template, request
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://shopstack.dev/problems/"
# The part of a request that an HTTP error of this status is about.
HTTP_ERROR_FIELDS = {413: "body", 415: "Content-Type"}


class Problem(Exception):
    """A client-visible error (RFC 9457). Services raise it; handlers render it."""

    def __init__(self, status: int, title: str, detail: str = "", *, type_: str = "", **extra: Any):
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail or title
        self.type = type_ or title.lower().replace(" ", "-")
        self.extra = extra

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": PROBLEM_TYPE_BASE + self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            **self.extra,
        }


class NotFound(Problem):
    def __init__(self, what: str, ident: Any = None):
        detail = f"{what} {ident} does not exist" if ident is not None else f"{what} does not exist"
        super().__init__(404, "Not found", detail, type_="not-found")


class Conflict(Problem):
    def __init__(self, detail: str, **extra: Any):
        super().__init__(409, "Conflict", detail, type_="conflict", **extra)


def validation_problem(error: ValidationError, source: str = "body") -> Problem:
    errors = [
        {"field": ".".join(str(part) for part in item["loc"]) or source, "reason": item["msg"]}
        for item in error.errors(include_url=False)
    ]
    first = errors[0] if errors else {"field": source, "reason": "invalid"}
    return Problem(
        422,
        "Invalid request",
        f"{first['field']}: {first['reason']}",
        type_="validation-error",
        field=first["field"],
        errors=errors,
    )


def wants_problem_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best in (
        "application/json",
        PROBLEM_CONTENT_TYPE,
    )


def problem_response(problem: Problem) -> Response:
    response = Response(json.dumps(problem.to_dict()), status=problem.status, mimetype=PROBLEM_CONTENT_TYPE)
    if problem.status == 405 and "allowed" in problem.extra:
        response.headers["Allow"] = ", ".join(problem.extra["allowed"])
    return response


def render_problem(problem: Problem):
    if wants_problem_json():
        return problem_response(problem)
    return render_template("error.html", problem=problem), problem.status


def register_errorhandlers(app: Flask) -> None:
    app.register_error_handler(Problem, render_problem)
    app.register_error_handler(ValidationError, lambda error: render_problem(validation_problem(error)))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        extra: dict[str, Any] = {}
        if error.code in HTTP_ERROR_FIELDS:
            extra["field"] = HTTP_ERROR_FIELDS[error.code]
        if error.code == 405 and getattr(error, "valid_methods", None):
            extra["allowed"] = sorted(error.valid_methods)
        problem = Problem(error.code or 500, error.name, error.description or error.name,
                          type_=error.name.lower().replace(" ", "-"), **extra)
        return render_problem(problem)

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        return render_problem(Problem(500, "Internal server error", "The shop hit an unexpected error."))
