"""The baseline for `make bench`: a bare Flask endpoint under the shop's own gunicorn settings."""

from flask import Flask


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/hello")
    def hello():
        return {"hello": "world"}

    return app
