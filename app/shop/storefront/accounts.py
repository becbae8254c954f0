"""Storefront account pages: log in, register, log out. Each goes back to the page the shopper
came from (`next`, a path on this site only), also after a mistake in the form."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from pydantic import ValidationError

from ..accounts import service as accounts
from ..accounts.auth import log_in, log_out
from ..accounts.schemas import Registration
from ..errors import Problem
from ..limits import login_attempts, registrations
from .forms import field_errors, form_blueprint, refill
from .session import back, safe_next

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
        except Problem as problem:
            flash(problem.detail, "error")
            return _form_page("account/register.html", problem.status, form=refill("password"), errors={})
        log_in(user)
        flash("Your account is ready.", "success")
        return back("storefront.index")
    return _form_page("account/register.html", form={}, errors={})


@bp.post("/logout")
def logout():
    log_out()
    flash("You are logged out.", "success")
    return redirect(url_for("storefront.index"))
