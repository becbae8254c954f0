"""Storefront account pages: log in, register, log out. Each goes back to the page the shopper
came from (`next`, a path on this site only), also after a mistake in the form."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from pydantic import ValidationError

from ..accounts import service as accounts
from ..accounts.auth import log_in, log_out
from ..accounts.schemas import Registration
from ..errors import Problem
from ..limits import login_attempts, registrations
from .forms import field_errors, form_blueprint, refill
from .session import back, email_claim_link, safe_next

bp = form_blueprint("account_pages", __name__)


def _form_page(template: str, status: int = 200, **context):
    return render_template(template, next_path=safe_next(request.values.get("next")), **context), status


@bp.route("/login", methods=["GET", "POST"])
@login_attempts
def login():
    if request.method == "POST":
        try:
            user = accounts.authenticate(request.form.get("email", ""), request.form.get("password", ""))
        except Problem as problem:
            flash(problem.detail, "error")
            return _form_page("account/login.html", 401, email=request.form.get("email", ""))
        log_in(user, remember=request.form.get("remember") == "yes")
        flash(f"Welcome back, {user.name}.", "success")
        return back("storefront.index")
    return _form_page("account/login.html", email="")


@bp.route("/register", methods=["GET", "POST"])
@registrations
def register():
    if request.method == "POST":
        try:
            fields = {key: request.form.get(key, "") for key in ("email", "password", "name")}
            data = Registration.model_validate(fields)
            user = accounts.register(data.email, data.password, data.name)
        except ValidationError as error:
            return _form_page("account/register.html", 422, form=refill("password"), errors=field_errors(error))
        except accounts.GuestAddress as problem:
            email_claim_link(problem.guest)
            return render_template("account/claim_sent.html", email=problem.guest.email), 202
        except Problem as problem:
            flash(problem.detail, "error")
            return _form_page("account/register.html", problem.status, form=refill("password"), errors={})
        log_in(user)
        flash("Your account is ready.", "success")
        return back("storefront.index")
    return _form_page("account/register.html", form={}, errors={})


@bp.route("/register/claim/<token>", methods=["GET", "POST"])
@registrations
def claim(token: str):
    """The e-mailed link that finishes an account on a guest's address: a name and a password,
    and the orders placed with that address are the account's."""
    guest = accounts.guest_by_claim_token(token, current_app.config["SECRET_KEY"],
                                          current_app.config["ACCOUNT_CLAIM_MAX_AGE_SECONDS"])
    if guest is None:
        raise Problem(404, "Not found", "This link is not valid, has expired or was used: register again for a new "
                      "one.", type_="not-found")
    form, errors = {"name": guest.name}, {}
    if request.method == "POST":
        form = refill("password")
        try:
            data = Registration.model_validate({"email": guest.email, "password": request.form.get("password", ""),
                                                "name": request.form.get("name", "")})
            user = accounts.claim_guest(guest, data.name, data.password)
        except ValidationError as error:
            errors = field_errors(error)
        except Problem as problem:
            flash(problem.detail, "error")
            return redirect(url_for("account_pages.login"))
        else:
            log_in(user)
            flash("Your account is ready, with the orders you placed as a guest.", "success")
            return redirect(url_for("order_pages.orders_page"))
    return render_template("account/claim.html", email=guest.email, token=token, form=form,
                           errors=errors), 422 if errors else 200


@bp.post("/logout")
def logout():
    log_out()
    flash("You are logged out.", "success")
    return redirect(url_for("storefront.index"))
