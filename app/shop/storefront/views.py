from __future__ import annotations

from flask import Blueprint

bp = Blueprint("storefront", __name__)
