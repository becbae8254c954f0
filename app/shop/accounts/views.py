from __future__ import annotations

from flask import Blueprint, current_app, request

from ..api import operation
from ..limits import login_attempts, registrations
from .auth import log_in, log_out, require_customer
from .schemas import Credentials, Registration, TokenOut, UserOut
from .service import GuestAddress, authenticate, issue_token, register

bp = Blueprint("accounts", __name__, url_prefix="/api/v1/auth")


def _token_response(user) -> dict:
    return TokenOut(
        token=issue_token(user, current_app.config["SECRET_KEY"]),
        expires_in=current_app.config["API_TOKEN_MAX_AGE_SECONDS"],
        user=UserOut.model_validate(user, from_attributes=True),
    ).model_dump()


@bp.post("/register")
@registrations
@operation("Create a customer account", tags=["accounts"], body=Registration, response=TokenOut, status=201)
def register_view(body: Registration):
    try:
        user = register(body.email, body.password, body.name)
    except GuestAddress as problem:
        from ..storefront.session import email_claim_link

        email_claim_link(problem.guest)  # the 409 says the link is on its way: it is
        raise
    log_in(user)
    return _token_response(user), 201


@bp.post("/login")
@login_attempts
@operation("Log in and get a bearer token", tags=["accounts"], body=Credentials, response=TokenOut,
           headers={"X-Cart-Id": "A guest cart to merge into the customer's cart"})
def login_view(body: Credentials):
    user = authenticate(body.email, body.password)
    log_in(user, request.headers.get("X-Cart-Id"))
    return _token_response(user)


@bp.post("/logout")
@operation("Log out: every session cookie and bearer token of this account stops working", tags=["accounts"],
           status=204, auth="customer")
def logout_view():
    log_out()
    return "", 204


@bp.get("/me")
@operation("The logged-in account", tags=["accounts"], response=UserOut, auth="customer")
def me_view():
    return UserOut.model_validate(require_customer(), from_attributes=True).model_dump()
