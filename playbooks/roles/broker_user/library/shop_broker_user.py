#!/usr/bin/python3
"""Ansible module: the shop's RabbitMQ user, its vhost and its permissions, through the broker's
management HTTP API (Amazon MQ for RabbitMQ has no rabbitmqctl to reach).

A user whose stored password hash does not match ``password`` gets the new password (a rotation);
one that matches is left alone, so a second run changes nothing.
"""

from __future__ import annotations

import base64
import hashlib
import json
import ssl
import urllib.error
import urllib.parse
import urllib.request

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: shop_broker_user
short_description: The shop's RabbitMQ user, vhost and permissions, through the management API
options:
  api_url: {description: Base URL of the management API, type: str, required: true}
  admin_user: {description: Administrator the calls are made as, type: str, required: true}
  admin_password: {description: Its password, type: str, required: true, no_log: true}
  validate_certs: {description: Check the API's TLS certificate, type: bool, default: true}
  name: {description: The shop's user, type: str, required: true}
  password: {description: Its password, type: str, required: true, no_log: true}
  vhost: {description: The only vhost the user has permissions on, type: str, required: true}
  configure: {description: Resources the user may configure (regular expression), type: str, default: ".*"}
  write: {description: Resources the user may write (regular expression), type: str, default: ".*"}
  read: {description: Resources the user may read (regular expression), type: str, default: ".*"}
"""

# RabbitMQ's stored hash: base64(salt(4 bytes) + H(salt + password)), H named by the user's algorithm.
HASHES = {
    "rabbit_password_hashing_sha256": hashlib.sha256,
    "rabbit_password_hashing_sha512": hashlib.sha512,
    "rabbit_password_hashing_md5": hashlib.md5,
}


def password_matches(user: dict, password: str) -> bool:
    digest = HASHES.get(user.get("hashing_algorithm", ""))
    stored = base64.b64decode(user.get("password_hash") or "")
    if digest is None or len(stored) < 5:
        return False
    salt = stored[:4]
    return digest(salt + password.encode()).digest() == stored[4:]


def no_tags(user: dict) -> bool:
    tags = user.get("tags") or []
    if isinstance(tags, str):  # RabbitMQ before 3.9 answers a comma-separated string
        tags = [tag for tag in tags.split(",") if tag]
    return not tags


class ManagementApi:
    def __init__(self, url: str, user: str, password: str, validate_certs: bool) -> None:
        self.url = url.rstrip("/")
        self.authorization = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self.context = None if validate_certs else ssl._create_unverified_context()  # noqa: S323 - the option's point

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict | list | None]:
        request = urllib.request.Request(
            self.url + path, method=method, data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": self.authorization, "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, context=self.context, timeout=30) as answer:  # noqa: S310
                payload = answer.read()
                return answer.status, json.loads(payload) if payload else None
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return 404, None
            raise RuntimeError(f"{method} {path}: HTTP {error.code} {error.read()[:200]!r}") from error


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "api_url": {"type": "str", "required": True},
            "admin_user": {"type": "str", "required": True},
            "admin_password": {"type": "str", "required": True, "no_log": True},
            "validate_certs": {"type": "bool", "default": True},
            "name": {"type": "str", "required": True},
            "password": {"type": "str", "required": True, "no_log": True},
            "vhost": {"type": "str", "required": True},
            "configure": {"type": "str", "default": ".*"},
            "write": {"type": "str", "default": ".*"},
            "read": {"type": "str", "default": ".*"},
        },
        supports_check_mode=True,
    )
    p = module.params
    api = ManagementApi(p["api_url"], p["admin_user"], p["admin_password"], p["validate_certs"])
    vhost, name = urllib.parse.quote(p["vhost"], safe=""), urllib.parse.quote(p["name"], safe="")
    wanted = {"configure": p["configure"], "write": p["write"], "read": p["read"]}
    done: list[str] = []
    try:
        if api.call("GET", f"/api/vhosts/{vhost}")[0] == 404:
            done.append("created the vhost")
            if not module.check_mode:
                api.call("PUT", f"/api/vhosts/{vhost}", {})
        status, user = api.call("GET", f"/api/users/{name}")
        current_user = user if isinstance(user, dict) else {}
        if status == 404 or not no_tags(current_user) or not password_matches(current_user, p["password"]):
            done.append("created the user" if status == 404 else "set the user's password and tags")
            if not module.check_mode:
                api.call("PUT", f"/api/users/{name}", {"password": p["password"], "tags": ""})
        status, permissions = api.call("GET", f"/api/permissions/{vhost}/{name}")
        current = {key: (permissions or {}).get(key) for key in wanted} if isinstance(permissions, dict) else {}
        if status == 404 or current != wanted:
            done.append("set the user's permissions on the vhost")
            if not module.check_mode:
                api.call("PUT", f"/api/permissions/{vhost}/{name}", wanted)
    except (RuntimeError, urllib.error.URLError, OSError) as error:
        module.fail_json(msg=f"RabbitMQ management API at {p['api_url']}: {error}", done=done)
    module.exit_json(changed=bool(done), done=done)


if __name__ == "__main__":
    main()
