"""A production configuration refuses to start with development secrets; a laptop still starts with none."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

START = "from shop import create_app; create_app(); print('started')"
REAL_SECRETS = {"SECRET_KEY": "a-long-random-production-key", "PAYMENT_WEBHOOK_SECRETS": "whsec_real"}


def clean_environ() -> dict[str, str]:
    """This process's environment without the shop's settings, so only a test's own ones apply."""
    return {key: value for key, value in os.environ.items()
            if key not in ("DATABASE_URL", "SHOP_ENV", "SECRET_KEY", "PAYMENT_WEBHOOK_SECRETS", "REDIS_URL",
                           "BROKER_URL", "SESSION_COOKIE_SECURE", "PAYMENT_GATEWAY", "SANDBOX_WEBHOOK_SECRET",
                           "CARRIER", "CARRIER_WEBHOOK_SECRETS")}


def start(tmp_path, **env: str) -> subprocess.CompletedProcess:
    """Build the app in a fresh interpreter (the config is read from the environment once, at import)."""
    return subprocess.run([sys.executable, "-c", START],
                          env={**clean_environ(), "SHOP_INSTANCE_DIR": str(tmp_path), **env},
                          capture_output=True, text=True, timeout=60)


PRODUCTION = {
    "DATABASE_URL": {"DATABASE_URL": "sqlite:///{tmp}/prod.db"},
    "SHOP_ENV": {"SHOP_ENV": "production"},
}


@pytest.mark.parametrize("marker", PRODUCTION)
@pytest.mark.parametrize(("secrets", "named"), [
    ({"PAYMENT_WEBHOOK_SECRETS": "whsec_real"}, "SECRET_KEY"),
    ({"SECRET_KEY": "dev-only-not-secret", "PAYMENT_WEBHOOK_SECRETS": "whsec_real"}, "SECRET_KEY"),
    ({"SECRET_KEY": "a-long-random-production-key"}, "PAYMENT_WEBHOOK_SECRETS"),
    ({"SECRET_KEY": "a-long-random-production-key", "PAYMENT_WEBHOOK_SECRETS": "whsec_real,whsec_dev_only"},
     "PAYMENT_WEBHOOK_SECRETS"),
    ({**REAL_SECRETS, "PAYMENT_GATEWAY": "sandbox"}, "SANDBOX_WEBHOOK_SECRET"),
    ({**REAL_SECRETS, "PAYMENT_GATEWAY": "sandbox", "SANDBOX_WEBHOOK_SECRET": "whsec_sandbox_only"},
     "SANDBOX_WEBHOOK_SECRET"),
    ({**REAL_SECRETS, "CARRIER": "sandbox"}, "CARRIER_WEBHOOK_SECRETS"),
    ({**REAL_SECRETS, "CARRIER": "sandbox", "CARRIER_WEBHOOK_SECRETS": "whsec_carrier_dev_only"},
     "CARRIER_WEBHOOK_SECRETS"),
], ids=["no-secret-key", "dev-secret-key", "no-webhook-secret", "dev-webhook-secret", "no-sandbox-secret",
        "dev-sandbox-secret", "no-carrier-secret", "dev-carrier-secret"])
def test_production_refuses_to_start_with_development_secrets(tmp_path, marker, secrets, named):
    env = {key: value.format(tmp=tmp_path) for key, value in PRODUCTION[marker].items()}
    result = start(tmp_path, **env, **secrets)
    assert result.returncode != 0
    assert "ConfigurationError" in result.stderr
    assert f"Set {named}" in result.stderr


@pytest.mark.parametrize("marker", PRODUCTION)
def test_production_starts_with_real_secrets(tmp_path, marker):
    env = {key: value.format(tmp=tmp_path) for key, value in PRODUCTION[marker].items()}
    result = start(tmp_path, **env, **REAL_SECRETS)
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


@pytest.mark.parametrize("marker", PRODUCTION)
def test_production_starts_with_the_sandbox_and_its_own_secret(tmp_path, marker):
    env = {key: value.format(tmp=tmp_path) for key, value in PRODUCTION[marker].items()}
    result = start(tmp_path, **env, **REAL_SECRETS, PAYMENT_GATEWAY="sandbox", SANDBOX_WEBHOOK_SECRET="whsec_lab")
    assert result.returncode == 0, result.stderr


def test_production_names_no_gateway_by_itself(tmp_path):
    code = "from shop import create_app; print(repr(create_app().config['PAYMENT_GATEWAY']))"
    result = subprocess.run([sys.executable, "-c", code], env={**clean_environ(), "SHOP_INSTANCE_DIR": str(tmp_path),
                                                               "SHOP_ENV": "production", **REAL_SECRETS},
                            capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "''", result.stderr


def test_the_embedded_default_starts_with_no_configuration(tmp_path):
    result = start(tmp_path)
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


@pytest.mark.parametrize(("env", "secure"), [({}, False), ({"SHOP_ENV": "production", **REAL_SECRETS}, True),
                                             ({"SHOP_ENV": "production", "SESSION_COOKIE_SECURE": "false",
                                               **REAL_SECRETS}, False)])
def test_the_session_cookie_is_secure_by_default_in_production(tmp_path, env, secure):
    code = "from shop import create_app; print(create_app().config['SESSION_COOKIE_SECURE'])"
    result = subprocess.run([sys.executable, "-c", code], env={**clean_environ(), "SHOP_INSTANCE_DIR": str(tmp_path),
                                                               **env}, capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == str(secure), result.stderr


@pytest.mark.parametrize("marker", PRODUCTION)
def test_production_starts_with_a_carrier_and_its_own_secret(tmp_path, marker):
    env = {key: value.format(tmp=tmp_path) for key, value in PRODUCTION[marker].items()}
    result = start(tmp_path, **env, **REAL_SECRETS, CARRIER="sandbox", CARRIER_WEBHOOK_SECRETS="whsec_carrier_lab")
    assert result.returncode == 0, result.stderr
