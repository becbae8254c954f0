"""The API under a property-based fuzzer: schemathesis reads the OpenAPI document the app serves and
sends every operation generated requests, with a customer's token (a staff token on staff routes),
on both backends (the embedded default, and PostgreSQL + Redis, where too-large numbers and NUL
characters used to fail), seeded with a small demo shop. Every answer must be a documented status,
match its documented schema, and never be a 5xx.

The run is deterministic (derandomized, fixed seed) and bounded (MAX_EXAMPLES per operation); it
prints how many operations and examples it ran, how many answers failed a check (server errors and
schema violations counted apart) and every distinct failure, and writes the same counts to
build/api-fuzz-<backend>.json for the release notes."""

from __future__ import annotations

import contextvars
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import hypothesis
import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.openapi.checks import JsonSchemaError
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from shop.accounts.service import issue_token
from shop.extensions import db
from shop.models import User
from shop.seed import DEMO_CUSTOMER, DEMO_STAFF, seed_demo

from .factories import make_user

# Generated requests per operation: enough to reach every field's edge cases, small enough to
# keep the whole run near a minute on a shared two-core machine.
MAX_EXAMPLES = 25
# With derandomize the examples follow from the schema alone; the seed pins anything left random.
SEED = 7
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]
# Logging out voids every token of the account, so the logout operation runs as an account of its own.
LOGOUT = "accounts_logout_view"
# Where each backend's counts are written.
REPORT_DIR = Path(__file__).resolve().parents[2] / "build"


@dataclass
class Tally:
    operations: int = 0
    examples: int = 0
    failed_examples: int = 0  # answers failing any check
    schema_violations: int = 0  # answers whose body does not match the documented schema
    statuses: Counter[int] = field(default_factory=Counter)
    failures: dict[str, str] = field(default_factory=dict)

    @property
    def server_errors(self) -> int:
        return sum(count for status, count in self.statuses.items() if status >= 500)

    def counts(self) -> dict[str, object]:
        return {
            "operations": self.operations,
            "examples": self.examples,
            "failures": self.failed_examples,
            "distinct_failures": len(self.failures),
            "server_errors": self.server_errors,
            "schema_violations": self.schema_violations,
            "max_examples": MAX_EXAMPLES,
            "seed": SEED,
            "statuses": {str(status): count for status, count in sorted(self.statuses.items())},
            "failure_list": dict(sorted(self.failures.items())),
        }

    def summary(self) -> str:
        answered = ", ".join(f"{status}: {count}" for status, count in sorted(self.statuses.items()))
        lines = [
            f"API fuzzer: {self.operations} operations, {self.examples} examples, "
            f"{self.failed_examples} failures ({len(self.failures)} distinct), "
            f"{self.server_errors} server errors, {self.schema_violations} schema violations; "
            f"answers by status: {answered}"
        ]
        lines += [f"  {where}: {what}" for where, what in sorted(self.failures.items())]
        return "\n".join(lines)


@pytest.fixture
def fuzzed_app(app) -> Flask:
    """The shop on each backend, seeded with a small demo catalog, customer, staff and order history."""
    seed_demo(products_per_category=3, orders=30, progress=lambda _message: None)
    db.session.remove()
    return app


def bearer_tokens(app: Flask) -> dict[str, dict[str, str]]:
    """Request headers for each `@operation(auth=...)` level: staff routes get a staff token."""
    with app.app_context():
        customer = db.session.query(User).filter_by(email=DEMO_CUSTOMER[0]).one()
        staff = db.session.query(User).filter_by(email=DEMO_STAFF[0]).one()
        leaving = make_user(email="leaving@example.com")
        tokens = {
            role: {"Authorization": f"Bearer {issue_token(user, app.config['SECRET_KEY'])}"}
            for role, user in (("customer", customer), ("staff", staff), (LOGOUT, leaving))
        }
    return {
        "none": {},
        "optional": tokens["customer"],
        "customer": tokens["customer"],
        "staff": tokens["staff"],
        LOGOUT: tokens[LOGOUT],
    }


def operation_auth(app: Flask) -> dict[str, str]:
    """Each operationId's auth level, as its view declares it."""
    return {
        endpoint.replace(".", "_"): view.openapi.auth
        for endpoint, view in app.view_functions.items()
        if hasattr(view, "openapi")
    }


def customer_cart(app: Flask, headers: dict[str, str]) -> str:
    """A cart of the customer's: cart operations are fuzzed on it, not only on unknown carts."""
    response = app.test_client().post("/api/v1/carts", headers=headers)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.json["id"]


def fuzz(
    operation, mode: GenerationMode, headers: dict[str, str], tally: Tally, path_parameters: dict[str, str]
) -> None:
    wanted = {name: value for name, value in path_parameters.items() if "{" + name + "}" in operation.path}

    @hypothesis.seed(SEED)
    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(mode, path_parameters=wanted or None))
    def run(case) -> None:
        tally.examples += 1
        # In a context of its own, so in its own app context and database session, as in production.
        response = contextvars.Context().run(case.call, headers=headers)
        tally.statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as group:
            tally.failed_examples += 1
            tally.schema_violations += any(isinstance(failure, JsonSchemaError) for failure in group.exceptions)
            for failure in group.exceptions:
                key = f"{operation.label} {mode.value} [{failure.title}]"
                tally.failures.setdefault(key, f"{response.status_code} {failure.message[:300]}")

    try:
        run()
    except Unsatisfiable:
        # An operation with no input (or none that can be made invalid) has no negative cases.
        assert mode is GenerationMode.NEGATIVE, operation.label


def test_the_api_answers_every_generated_request_as_documented(fuzzed_app, backend, capsys):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", fuzzed_app)
    headers = bearer_tokens(fuzzed_app)
    auth = operation_auth(fuzzed_app)
    path_parameters = {"cart_id": customer_cart(fuzzed_app, headers["customer"])}
    tally = Tally()
    for result in schema.get_all_operations():
        operation = result.ok()
        tally.operations += 1
        operation_id = operation.definition.raw["operationId"]
        who = LOGOUT if operation_id == LOGOUT else auth[operation_id]
        for mode in GenerationMode:
            fuzz(operation, mode, headers[who], tally, path_parameters)
    with capsys.disabled():
        print(f"\n[{backend}] " + tally.summary())
    REPORT_DIR.mkdir(exist_ok=True)
    (REPORT_DIR / f"api-fuzz-{backend}.json").write_text(json.dumps(tally.counts(), indent=2) + "\n")
    assert tally.operations >= 20
    assert not tally.failures, tally.summary()
