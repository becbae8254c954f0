"""shopstack's shop: create_app() builds the Flask application."""

from __future__ import annotations

from typing import Any

from flask import Flask

from .config import INSTANCE_DIR, Config, refuse_development_secrets


def create_app(config: type[Config] | dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_path=str(INSTANCE_DIR))
    app.config.from_object(Config)
    if isinstance(config, dict):
        app.config.update(config)
    elif config is not None:
        app.config.from_object(config)
    refuse_development_secrets(app.config)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    register_security(app)
    return app


def register_extensions(app: Flask) -> None:
    from . import models  # noqa: F401 - every table known before the first query
    from .database import configure_engine_events
    from .extensions import db, init_cache, init_carrier, init_celery, init_payment_gateway
    from .limits import init_limiter
    from .logistics import consumers  # noqa: F401 - registers the order events logistics consumes
    from .metrics import register_metrics
    from .migrations_cli import init_migrations
    from .tasks import register_outbox_relay

    db.init_app(app)
    with app.app_context():
        configure_engine_events(db.engine)
        if app.config["DATABASE_SECRET_ARN"]:
            from .database_credentials import SecretLogin, connect_with_secret

            connect_with_secret(db.engine, SecretLogin(app.config["DATABASE_SECRET_ARN"],
                                                       app.config["DATABASE_SECRET_MAX_AGE_SECONDS"]))
    init_migrations(app)
    init_cache(app)
    init_celery(app)
    init_limiter(app)
    init_payment_gateway(app)
    init_carrier(app)
    register_outbox_relay(app)
    register_metrics(app)


def register_blueprints(app: Flask) -> None:
    from .accounts.views import bp as accounts_bp
    from .cart.views import bp as cart_bp
    from .catalog.views import bp as catalog_bp
    from .console import blueprints as console_blueprints
    from .events.views import bp as dead_letters_bp
    from .health import bp as health_bp
    from .logistics.views import bp as logistics_bp
    from .openapi import bp as openapi_bp
    from .orders.views import bp as orders_bp
    from .payments.views import bp as payments_bp
    from .payments.views import sandbox_bp
    from .reviews.views import bp as reviews_bp
    from .routing import register_converters
    from .storefront import blueprints as storefront_blueprints
    from .support.views import bp as support_bp

    register_converters(app.url_map)
    for blueprint in (health_bp, openapi_bp, accounts_bp, catalog_bp, cart_bp, orders_bp, payments_bp,
                      logistics_bp, reviews_bp, support_bp, dead_letters_bp, *console_blueprints(),
                      *storefront_blueprints()):
        app.register_blueprint(blueprint)
    # Settling a sandbox charge by hand is a laptop's and a test's tool: never routed in production,
    # even where a production-shaped stack (the lab) charges through the sandbox gateway.
    if app.config["PAYMENT_GATEWAY"] == "sandbox" and not app.config.get("SHOP_PRODUCTION"):
        app.register_blueprint(sandbox_bp)


def register_errorhandlers(app: Flask) -> None:
    from .errors import register_errorhandlers as register

    register(app)


def register_security(app: Flask) -> None:
    from .security import register_security as register

    register(app)


def register_commands(app: Flask) -> None:
    from .commands import register as register_cli

    register_cli(app)
