from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from .api import build_openapi

bp = Blueprint("openapi", __name__)


@bp.get("/api/v1/openapi.json")
def openapi_document():
    return jsonify(build_openapi(current_app))
