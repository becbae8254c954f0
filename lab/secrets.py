"""The lab's credentials: an SSH key and the shop's secrets in an Ansible Vault file.

The vault password lives only in the ignored state directory; the inventory holds the secrets
encrypted, the way a real environment keeps them in Vault or AWS Secrets Manager.
"""

from __future__ import annotations

import hashlib
import secrets
import subprocess
from pathlib import Path

import yaml
from ansible.constants import DEFAULT_VAULT_ID_MATCH
from ansible.parsing.vault import VaultLib, VaultSecret

from lab.topology import INVENTORY, STATE

SSH_KEY = STATE / "id_ed25519"
VAULT_PASSWORD = STATE / "vault-password"
VAULT_FILE = INVENTORY / "group_vars" / "all" / "vault.yml"
# Each secret the inventory needs, made up once per lab and kept across repeated bring-ups.
SECRET_NAMES = (
    "vault_shop_database_password",
    "vault_shop_cache_password",
    "vault_shop_broker_password",
    "vault_shop_secret_key",
    "vault_shop_registry_password",
    "vault_shop_sandbox_webhook_secret",
)
# Webhook signing secrets, newest first: the shop accepts any of them during a rotation.
SECRET_LIST_NAMES = ("vault_shop_payment_webhook_secrets", "vault_shop_carrier_webhook_secrets")


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_bytes(data)


def ssh_key() -> Path:
    if not SSH_KEY.exists():
        STATE.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "shopstack-lab", "-f", SSH_KEY],
            check=True,
        )
    return SSH_KEY


def _vault_password() -> bytes:
    if not VAULT_PASSWORD.exists():
        _write_private(VAULT_PASSWORD, secrets.token_urlsafe(32).encode() + b"\n")
    return VAULT_PASSWORD.read_bytes().strip()


def _vault() -> VaultLib:
    return VaultLib([(DEFAULT_VAULT_ID_MATCH, VaultSecret(_vault_password()))])


def lab_secrets() -> dict[str, object]:
    """Decrypt the lab's vault file, creating it with fresh random secrets on first use."""
    vault = _vault()
    if VAULT_FILE.exists():
        values = yaml.safe_load(vault.decrypt(VAULT_FILE.read_bytes()))
        if all(name in values for name in (*SECRET_NAMES, *SECRET_LIST_NAMES)):
            return values
    else:
        values = {}
    # A secret added since the vault was written is made up now; the others keep their values.
    values = {name: secrets.token_urlsafe(24) for name in SECRET_NAMES} | values
    values = {name: [secrets.token_urlsafe(24)] for name in SECRET_LIST_NAMES} | values
    plaintext = "# The lab's secrets, made up by `python -m lab up`.\n" + yaml.safe_dump(values)
    VAULT_FILE.parent.mkdir(parents=True, exist_ok=True)
    VAULT_FILE.write_bytes(vault.encrypt(plaintext.encode()))
    return values


def fingerprint() -> str:
    """Who made the lab: a digest of this checkout's vault password and SSH key.

    Another checkout's lab (a CI clone beside a developer's tree) holds other credentials, so its
    hosts would refuse this checkout's key and its registry this checkout's password.
    """
    digest = hashlib.sha256(_vault_password() + ssh_key().with_suffix(".pub").read_bytes())
    return digest.hexdigest()[:16]
