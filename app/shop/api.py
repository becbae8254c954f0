"""The JSON API's plumbing: input parsing into pydantic models, pagination, and the OpenAPI
document, which is built from the same models the views parse and answer with, so it cannot
drift from the code."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from flask import Flask, Response, current_app, request
from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError, field_validator
from werkzeug.routing import IntegerConverter

from . import idempotency
from .errors import PROBLEM_CONTENT_TYPE, Problem, validation_problem
from .numbers import MAX_ID

API_PREFIX = "/api/v1"


class Schema(BaseModel):
    """Base of every request schema: unknown fields are refused, not silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def no_nul_characters(cls, value: Any) -> Any:
        # No field of the shop can hold one, and PostgreSQL refuses them in text.
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain NUL characters")
        return value


# A row's id in a request body: larger ones cannot exist and never reach the database.
Id = Annotated[StrictInt, Field(ge=1, le=MAX_ID)]


class PageQuery(Schema):
    page: int = Field(1, ge=1, le=100_000)
    per_page: int = Field(20, ge=1, le=100)


@dataclass(frozen=True)
class Header:
    """A request header an operation reads, as the OpenAPI document states it."""

    description: str
    required: bool = False
    schema: dict[str, Any] = field(default_factory=lambda: {"type": "string"})


@dataclass
class Operation:
    summary: str
    tags: list[str]
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    auth: str = "none"  # none | optional | customer | staff
    # A plain description documents an optional string header.
    headers: dict[str, Header | str] = field(default_factory=dict)


def _read_json_body() -> Any:
    if not request.is_json:
        raise Problem(415, "Unsupported Media Type", "The request body must be sent as application/json.",
                      type_="unsupported-media-type", field="Content-Type")
    raw = request.get_data(cache=True)
    if not raw:
        raise Problem(400, "Malformed JSON", "The request body is empty; a JSON object is expected.",
                      type_="malformed-json", field="body")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise Problem(400, "Malformed JSON", f"The request body is not valid JSON: {error}",
                      type_="malformed-json", field="body") from None
    except RecursionError:
        raise Problem(400, "Malformed JSON", "The request body nests too deeply.",
                      type_="malformed-json", field="body") from None


def parse(model: type[BaseModel], data: Any, source: str) -> BaseModel:
    if source == "body" and not isinstance(data, dict):
        raise Problem(422, "Invalid request", "The request body must be a JSON object.",
                      type_="validation-error", field="body")
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise validation_problem(error, source) from None
    except RecursionError:
        raise Problem(422, "Invalid request", f"The {source} nests too deeply.", type_="validation-error",
                      field=source) from None


def operation(summary: str, *, tags: list[str], body=None, query=None, response=None, status=200,
              auth="none", headers=None) -> Callable:
    """Document a view and parse its input: the view receives `body=` and/or `query=` models."""
    spec = Operation(summary, tags, body, query, response, status, auth, headers or {})

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            # Who may ask comes before what they asked: a stranger's bad body is still a 401.
            if spec.auth in ("customer", "staff"):
                from .accounts.auth import require_customer, require_staff

                (require_staff if spec.auth == "staff" else require_customer)()
            if spec.body is not None:
                kwargs["body"] = parse(spec.body, _read_json_body(), "body")
            if spec.query is not None:
                kwargs["query"] = parse(spec.query, request.args.to_dict(), "query")
            return view(*args, **kwargs)

        wrapper.openapi = spec  # type: ignore[attr-defined]
        return wrapper

    return decorate


def page_of(items: list[Any], total: int, query: PageQuery) -> dict[str, Any]:
    return {"items": items, "total": total, "page": query.page, "per_page": query.per_page}


PROBLEM_SCHEMA = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "field": {"type": "string"},
    },
}


def _openapi_path(rule: str) -> str:
    # Flask's <int:product_id> becomes OpenAPI's {product_id}.
    parts = []
    for segment in rule.split("/"):
        if segment.startswith("<") and segment.endswith(">"):
            segment = "{" + segment[1:-1].split(":")[-1] + "}"
        parts.append(segment)
    return "/".join(parts)


def _path_schema(rule, argument: str) -> dict[str, Any]:
    converter = rule._converters[argument]
    if isinstance(converter, IntegerConverter):
        return {"type": "integer", "minimum": converter.min or 0, "maximum": converter.max}
    return {"type": "string"}


# Refusals stated beside the catch-all 4XX: (description, which operations can answer it).
REFUSALS = {
    "413": ("The body is larger than the shop accepts (MAX_CONTENT_LENGTH)", "body"),
    "415": ("The body is not sent as application/json", "body"),
    "422": ("A field is invalid (an unknown category, say); `field` names it and `detail` says why", "input"),
    "429": ("Too many requests; retry after the Retry-After header's seconds", "all"),
}


def _refusals(spec: Operation) -> dict[str, Any]:
    applies = {"all": True, "body": spec.body is not None,
               "input": spec.body is not None or spec.query is not None}
    problem = {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    return {status: {"description": description, "content": problem}
            for status, (description, which) in REFUSALS.items() if applies[which]}


def build_openapi(app: Flask) -> dict[str, Any]:
    schemas: dict[str, Any] = {"Problem": PROBLEM_SCHEMA}

    def ref(model: type[BaseModel]) -> dict[str, str]:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
        return {"$ref": f"#/components/schemas/{model.__name__}"}

    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith(API_PREFIX):
            continue
        spec: Operation | None = getattr(app.view_functions[rule.endpoint], "openapi", None)
        if spec is None:
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            op: dict[str, Any] = {
                "operationId": rule.endpoint.replace(".", "_"),
                "summary": spec.summary,
                "tags": spec.tags,
                "parameters": [
                    {"name": arg, "in": "path", "required": True, "schema": _path_schema(rule, arg)}
                    for arg in sorted(rule.arguments)
                ],
                "responses": {
                    "4XX": {"description": "Client error",
                            "content": {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}},
                    **_refusals(spec),
                },
            }
            for name, header in spec.headers.items():
                header = Header(header) if isinstance(header, str) else header
                op["parameters"].append({"name": name, "in": "header", "required": header.required,
                                         "description": header.description, "schema": header.schema})
            if spec.query is not None:
                for name, prop in spec.query.model_json_schema()["properties"].items():
                    op["parameters"].append({"name": name, "in": "query", "required": False, "schema": prop})
            if spec.body is not None:
                op["requestBody"] = {"required": True, "content": {"application/json": {"schema": ref(spec.body)}}}
            success: dict[str, Any] = {"description": "Success"}
            if spec.response is not None:
                success["content"] = {"application/json": {"schema": ref(spec.response)}}
            op["responses"][str(spec.status)] = success
            # The session cookie authenticates reads only (accounts.auth: no CSRF on API writes).
            credentials = [{"bearerAuth": []}] + ([{"cookieAuth": []}] if method in ("GET", "HEAD") else [])
            if spec.auth in ("customer", "staff"):
                op["security"] = credentials
            elif spec.auth == "optional":
                op["security"] = [{}, *credentials]
            paths.setdefault(_openapi_path(rule.rule), {})[method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "shopstack API", "version": current_app.config["SHOP_RELEASE"]},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer"},
                "cookieAuth": {"type": "apiKey", "in": "cookie", "name": "session"},
            },
        },
    }


IDEMPOTENCY_KEY = {idempotency.HEADER: Header(
    "Makes retries safe: the same key and body replay the first answer (marked Idempotent-Replayed); "
    "kept 24 h. 1 to 255 printable characters",
    schema={"type": "string", "minLength": 1, "maxLength": idempotency.MAX_KEY_LENGTH, "pattern": "^[ -~]+$"})}


def answer_once(customer_id: int, body: Schema, work: Callable[[], Any], status_of: Callable[[Any], int],
                headers: Callable[[Any], dict[str, str]] | None = None):
    """Run `work` under the request's Idempotency-Key, if it has one, and render its answer."""
    config = current_app.config
    fingerprint = idempotency.fingerprint(config["SECRET_KEY"], request.method, request.path,
                                          body.model_dump_json())
    answer = idempotency.answer_once(customer_id, request.headers.get(idempotency.HEADER), fingerprint,
                                     config["IDEMPOTENCY_TTL_SECONDS"], config["IDEMPOTENCY_LEASE_SECONDS"],
                                     work, status_of)
    response_headers = dict(headers(answer.body) if headers and answer.status < 400 else {})
    if answer.replayed:
        response_headers[idempotency.REPLAYED_HEADER] = "true"
    if answer.status >= 400:
        return Response(json.dumps(answer.body), answer.status, response_headers, mimetype=PROBLEM_CONTENT_TYPE)
    return answer.body, answer.status, response_headers
