"""Dead letters: staff list, inspect and replay the events a consumer failed on after its last
retry, through the API and the console page (here on the embedded default: replays run in-process)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from shop.events.audit import POISON_ENV, OrderEventCount
from shop.events.models import DeadLetter
from shop.extensions import db
from shop.outbox import record_event
from shop.tasks import relay_outbox

from .factories import PASSWORD, auth_headers, make_user

API = "/api/v1/staff/dead-letters"


@pytest.fixture
def poisoned(app, monkeypatch) -> int:
    """A dead letter: an order event the audit consumer fails on (while POISON_ENV is set)."""
    monkeypatch.setenv(POISON_ENV, "poison")
    record_event("order.paid", order_id=77, poison=True)
    db.session.commit()
    relay_outbox.apply()
    return db.session.scalars(select(DeadLetter.id)).one()


def events_counted(order_id: int = 77) -> int | None:
    db.session.expire_all()
    return db.session.scalar(select(OrderEventCount.events).where(OrderEventCount.order_id == order_id))


def test_staff_list_dead_letters(client, poisoned):
    response = client.get(API, headers=auth_headers(make_user("staff")))
    assert response.status_code == 200
    assert response.json["total"] == 1
    [letter] = response.json["items"]
    assert (letter["id"], letter["consumer"], letter["topic"]) == (poisoned, "audit", "order.paid")
    assert letter["attempts"] == 6  # the first try and the audit consumer's 5 retries
    assert letter["payload"] == {"order_id": 77, "poison": True}
    assert letter["error"].startswith("Retry: poison event")
    assert letter["replayed_at"] is None


def test_staff_filter_dead_letters_by_status(client, poisoned):
    staff = auth_headers(make_user("staff"))
    assert client.get(API, query_string={"status": "waiting"}, headers=staff).json["total"] == 1
    assert client.get(API, query_string={"status": "replayed"}, headers=staff).json["total"] == 0
    assert client.get(API, query_string={"consumer": "nobody"}, headers=staff).json["total"] == 0


def test_staff_inspect_a_dead_letter(client, poisoned):
    response = client.get(f"{API}/{poisoned}", headers=auth_headers(make_user("staff")))
    assert response.status_code == 200
    assert response.json["event_id"] >= 1


def test_an_unknown_dead_letter_is_a_problem(client, app):
    response = client.get(f"{API}/999", headers=auth_headers(make_user("staff")))
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert "999" in response.json["detail"]


def test_a_bad_filter_is_a_problem_naming_the_field(client, app):
    response = client.get(API, query_string={"status": "lost"}, headers=auth_headers(make_user("staff")))
    assert response.status_code == 422
    assert response.json["field"] == "status"


@pytest.mark.parametrize(("role", "status"), [(None, 401), ("customer", 403), ("staff", 200)])
@pytest.mark.parametrize("ask", ["list", "show", "replay"])
def test_only_staff_see_and_replay_dead_letters(client, poisoned, role, status, ask):
    headers = auth_headers(make_user(role)) if role else {}
    response = {"list": lambda: client.get(API, headers=headers),
                "show": lambda: client.get(f"{API}/{poisoned}", headers=headers),
                "replay": lambda: client.post(f"{API}/{poisoned}/replay", headers=headers)}[ask]()
    assert response.status_code == status


def test_a_replay_after_the_fix_succeeds_once(client, poisoned, monkeypatch):
    staff = auth_headers(make_user("staff"))
    monkeypatch.delenv(POISON_ENV)
    first = client.post(f"{API}/{poisoned}/replay", headers=staff)
    again = client.post(f"{API}/{poisoned}/replay", headers=staff)
    assert first.status_code == again.status_code == 200
    assert first.json["replayed_at"] is not None
    assert again.json == first.json
    assert events_counted() == 1


def test_a_replay_that_fails_again_is_dead_lettered_again(client, poisoned):
    response = client.post(f"{API}/{poisoned}/replay", headers=auth_headers(make_user("staff")))
    assert response.status_code == 200
    assert response.json["replayed_at"] is None
    assert response.json["attempts"] == 12
    assert events_counted() is None


def test_metrics_count_the_dead_letters_waiting(client, poisoned):
    body = client.get("/metrics").get_data(as_text=True)
    assert 'shop_dead_letters{consumer="audit"} 1.0' in body
    assert 'shop_consumer_events_total{consumer="audit",outcome="dead_lettered"}' in body


def log_in(client, user) -> None:
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    response = client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302


@pytest.mark.parametrize(("role", "status"), [(None, 404), ("customer", 404), ("staff", 200)])
def test_only_staff_see_the_dead_letters_page(client, poisoned, role, status):
    if role:
        log_in(client, make_user(role))
    assert client.get("/console/dead-letters").status_code == status


def test_the_page_lists_a_dead_letter_with_a_replay_form(client, poisoned):
    log_in(client, make_user("staff"))
    page = client.get("/console/dead-letters").get_data(as_text=True)
    assert page.count('data-test="dead-letter"') == 1
    assert f'action="/console/dead-letters/{poisoned}/replay"' in page


def test_the_page_replays_with_its_form(client, poisoned, monkeypatch):
    monkeypatch.delenv(POISON_ENV)
    log_in(client, make_user("staff"))
    page = client.get("/console/dead-letters").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post(f"/console/dead-letters/{poisoned}/replay", data={"csrf_token": token})
    assert response.status_code == 302
    assert events_counted() == 1
    assert "was sent to audit again" in client.get("/console/dead-letters").get_data(as_text=True)


def test_the_page_refuses_a_replay_without_its_csrf_token(client, poisoned, monkeypatch):
    monkeypatch.delenv(POISON_ENV)
    log_in(client, make_user("staff"))
    response = client.post(f"/console/dead-letters/{poisoned}/replay", data={})
    assert response.status_code == 400
    assert events_counted() is None
