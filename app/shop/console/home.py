"""The staff console's home: every section, with what waits in it."""

from __future__ import annotations

from flask import render_template

from ..events import dead_letters
from ..orders import states
from ..orders.queries import orders_by_status
from ..reviews import service as reviews
from . import console_blueprint

bp = console_blueprint("console_home", __name__)


@bp.get("/")
def home():
    _, waiting_letters = dead_letters.list_dead_letters(1, 1, status="waiting")
    _, hidden_reviews = reviews.staff_reviews("hidden", 1, 1)
    return render_template("console/home.html", orders=orders_by_status(), to_ship=states.PAID,
                           waiting_letters=waiting_letters, hidden_reviews=hidden_reviews)
