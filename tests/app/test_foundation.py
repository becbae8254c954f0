from __future__ import annotations

import pytest

from shop.api import API_PREFIX
from shop.extensions import db

from .factories import PASSWORD, auth_headers, make_user


def test_healthz_names_the_release(client, app):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "release": app.config["SHOP_RELEASE"]}


HEALTHZ_SERIES = (
    'shop_http_requests_total{method="GET",route="/healthz",status="200"}',
    'shop_http_request_duration_seconds_count{method="GET",route="/healthz"}',
)


def healthz_samples(client) -> list[float]:
    """The request counter and the duration histogram's count for GET /healthz (0 before any)."""
    samples = dict(
        line.rsplit(" ", 1)
        for line in client.get("/metrics").get_data(as_text=True).splitlines()
        if line.startswith(HEALTHZ_SERIES)
    )
    return [float(samples.get(series, 0)) for series in HEALTHZ_SERIES]


def test_metrics_counts_requests_by_route_and_status(client):
    # The registry is the process's: other tests' requests are counted too, so the test counts the change.
    before = healthz_samples(client)
    for _request in range(3):
        client.get("/healthz")
    assert [now - then for now, then in zip(healthz_samples(client), before, strict=True)] == [3, 3]


@pytest.mark.parametrize(
    ("path", "status", "problem_type"),
    [
        ("/api/v1/nowhere", 404, "not-found"),
        ("/api/v1/carts/unknown-cart", 404, "not-found"),
    ],
)
def test_errors_are_problem_json(client, path, status, problem_type):
    response = client.get(path)
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    assert response.json["type"].endswith(problem_type)
    assert response.json["status"] == status
    assert response.json["detail"]


def test_wrong_method_is_405_problem_with_allow(client):
    response = client.delete("/api/v1/auth/login")
    assert response.status_code == 405
    assert response.mimetype == "application/problem+json"
    assert "POST" in response.headers["Allow"]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        (b"{not json", 400, "body"),
        (b"", 400, "body"),
        (b"[1, 2]", 422, "body"),
        (b'{"email": "not-an-email", "password": "longenough", "name": "A"}', 422, "email"),
        (b'{"email": "a@example.com", "password": "short", "name": "A"}', 422, "password"),
        (b'{"email": "a@example.com", "password": "longenough", "name": "A", "role": "staff"}', 422, "role"),
        (b'{"email": 5, "password": "longenough", "name": "A"}', 422, "email"),
    ],
)
def test_bad_registration_is_a_clear_4xx(client, body, status, field):
    response = client.post("/api/v1/auth/register", data=body, content_type="application/json")
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    assert response.json["field"] == field
    assert field in response.json["detail"]


def test_register_then_login_gives_a_working_token(client):
    registered = client.post(
        "/api/v1/auth/register", json={"email": "Ada@Example.com", "password": "a-long-password", "name": "Ada"}
    )
    assert registered.status_code == 201
    assert registered.json["user"]["email"] == "ada@example.com"
    login = client.post("/api/v1/auth/login", json={"email": "ada@example.com", "password": "a-long-password"})
    assert login.status_code == 200
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {login.json['token']}"})
    assert me.json["email"] == "ada@example.com"
    assert me.json["role"] == "customer"


def test_registering_an_existing_email_is_a_conflict(client):
    make_user(email="taken@example.com")
    response = client.post(
        "/api/v1/auth/register", json={"email": "TAKEN@example.com", "password": "a-long-password", "name": "B"}
    )
    assert response.status_code == 409
    assert response.json["field"] == "email"


@pytest.mark.parametrize("password", ["wrong-password", PASSWORD + "x"])
def test_login_with_a_wrong_password_is_401(client, password):
    user = make_user()
    response = client.post("/api/v1/auth/login", json={"email": user.email, "password": password})
    assert response.status_code == 401


def test_a_forged_token_is_401(client):
    response = client.get("/api/v1/auth/me", headers={"Authorization": "Bearer forged.token.value"})
    assert response.status_code == 401
    assert response.json["type"].endswith("invalid-token")


def test_me_needs_login(client):
    assert client.get("/api/v1/auth/me").status_code == 401


def test_staff_token_identifies_staff(client):
    staff = make_user(role="staff")
    assert client.get("/api/v1/auth/me", headers=auth_headers(staff)).json["role"] == "staff"


def test_openapi_documents_every_api_route(app, client):
    document = client.get("/api/v1/openapi.json").json
    assert document["openapi"].startswith("3.")
    documented = {(path, method) for path, operations in document["paths"].items() for method in operations}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(API_PREFIX) or rule.endpoint == "openapi.openapi_document":
            continue
        path = rule.rule
        for argument in rule.arguments:
            path = path.replace(f"<int:{argument}>", f"{{{argument}}}").replace(f"<{argument}>", f"{{{argument}}}")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method.lower()) in documented, f"{method} {rule.rule} is not in the OpenAPI document"


def test_migrations_match_the_models(runner):
    result = runner.invoke(args=["db", "check"])
    assert result.exit_code == 0, result.output


def test_every_request_has_a_database_session_of_its_own(app, client):
    # As in production: the test's session and each request's are apart, and a request's is closed at its end.
    sessions = []

    @app.before_request
    def note_the_session():
        sessions.append(db.session())

    client.get("/healthz")
    client.get("/healthz")
    assert len({id(session) for session in [*sessions, db.session()]}) == 3
