"""A guest's orders become an account only for whoever reads the guest's mail: registering with
the address e-mails a link that finishes the account (issue 11). Through the Flask client."""

from __future__ import annotations

import re

import pytest

from shop.extensions import db
from shop.models import Order, User
from shop.outbox import OutboxEvent

from .factories import PASSWORD
from .test_storefront_checkout import csrf
from .test_storefront_pages import guest_checkout

NEW_PASSWORD = "the-guests-own-password"


def register(browser, email: str = "guest@example.com", password: str = "a-strangers-password"):
    return browser.post(
        "/register",
        data={"name": "Mallory", "email": email, "password": password, "csrf_token": csrf(browser, "/register")},
    )


def claim_emails() -> list[dict]:
    db.session.expire_all()
    return [
        event.payload
        for event in db.session.scalars(
            db.select(OutboxEvent).where(OutboxEvent.topic == "account.claim_email").order_by(OutboxEvent.id)
        )
    ]


def claim_path(email: dict) -> str:
    return re.search(r"https?://[^/\s]+(/register/claim/\S+)", email["text"]).group(1)


def finish(browser, path: str, password: str = NEW_PASSWORD):
    return browser.post(path, data={"name": "Grace", "password": password, "csrf_token": csrf(browser, "/register")})


def test_registering_with_a_guests_address_shows_none_of_their_orders(client, app):
    guest_checkout(client)
    stranger = app.test_client()
    response = register(stranger)
    assert response.status_code == 202
    assert 'data-test="claim-sent"' in response.get_data(as_text=True)
    assert stranger.get("/orders").status_code == 302  # not logged in: to the login page
    assert (
        stranger.post(
            "/login",
            data={
                "email": "guest@example.com",
                "password": "a-strangers-password",
                "csrf_token": csrf(stranger, "/login"),
            },
        ).status_code
        == 401
    )
    db.session.expire_all()
    assert db.session.scalars(db.select(User.role).where(User.email == "guest@example.com")).one() == "guest"


def test_registering_with_a_guests_address_emails_that_address_a_link(client, app):
    guest_checkout(client)
    register(app.test_client())
    [email] = claim_emails()
    assert email["to"] == "guest@example.com"
    assert "/register/claim/" in email["text"]


def test_the_emailed_link_claims_the_guests_orders(client, app):
    guest_checkout(client)
    register(app.test_client())
    reader = app.test_client()  # whoever reads guest@example.com's mail
    response = finish(reader, claim_path(claim_emails()[0]))
    assert response.headers["Location"] == "/orders"
    order_id = db.session.scalars(db.select(Order.id)).one()
    assert f'data-order-id="{order_id}"' in reader.get("/orders").get_data(as_text=True)


def test_the_claimed_account_logs_in_with_the_password_chosen_from_the_link(client, app):
    guest_checkout(client)
    register(app.test_client())
    finish(app.test_client(), claim_path(claim_emails()[0]))
    browser = app.test_client()
    response = browser.post(
        "/login", data={"email": "guest@example.com", "password": NEW_PASSWORD, "csrf_token": csrf(browser, "/login")}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.scalars(db.select(User.role).where(User.email == "guest@example.com")).one() == "customer"


def test_a_claim_link_works_once(client, app):
    guest_checkout(client)
    register(app.test_client())
    path = claim_path(claim_emails()[0])
    finish(app.test_client(), path)
    assert app.test_client().get(path).status_code == 404


@pytest.mark.parametrize("spoil", ["tamper", "expire"])
def test_a_tampered_or_expired_claim_link_claims_nothing(client, app, spoil):
    guest_checkout(client)
    register(app.test_client())
    path = claim_path(claim_emails()[0])
    if spoil == "tamper":
        path = path[:-2] + ("AA" if not path.endswith("AA") else "BB")
    else:
        app.config["ACCOUNT_CLAIM_MAX_AGE_SECONDS"] = -1
    browser = app.test_client()
    assert browser.get(path).status_code == 404
    assert finish(browser, path).status_code == 404
    db.session.expire_all()
    assert db.session.scalars(db.select(User.role).where(User.email == "guest@example.com")).one() == "guest"


def test_a_short_password_on_the_claim_page_is_a_sentence_beside_the_field(client, app):
    guest_checkout(client)
    register(app.test_client())
    response = finish(app.test_client(), claim_path(claim_emails()[0]), password="short")
    assert response.status_code == 422
    assert 'id="password-error">Choose a password of at least 8 characters.<' in response.get_data(as_text=True)


def test_registering_through_the_api_with_a_guests_address_is_a_conflict_that_emails_the_link(client):
    guest_checkout(client)
    response = client.post(
        "/api/v1/auth/register", json={"email": "guest@example.com", "password": "a-long-password", "name": "Mallory"}
    )
    assert response.status_code == 409
    assert response.get_json()["field"] == "email" and "token" not in response.get_json()
    assert [email["to"] for email in claim_emails()] == ["guest@example.com"]


def test_registering_an_address_with_a_real_account_still_says_it_exists(client, app):
    from .factories import make_user

    user = make_user()
    response = register(client, email=user.email, password=PASSWORD)
    assert response.status_code == 409
    assert claim_emails() == []
