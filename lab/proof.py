"""The lab's proof, as `make test-hosts` runs it: bring the lab up from nothing, converge it,
check idempotence, lint, boot a scale-out web host from its first-boot script alone (it configures
itself while testinfra checks the others), run the rolling deploys, check the new host and put it in
service, inject faults, and tear it down.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from lab import scaling
from lab import topology as topo
from lab.progress import console, note, step, timings
from lab.secrets import VAULT_PASSWORD, lab_secrets

ROOT = topo.ROOT
BIN = Path(sys.executable).parent
INVENTORY = str(topo.INVENTORY)
# Kept after the lab is torn down, for a failed run's post-mortem.
LOGS = ROOT / "lab" / ".logs"
TESTINFRA = [f"--ansible-inventory={INVENTORY}", "--sudo"]
# Written by the fault proof (tests/hosts/faults): each fault's detection and resolution times.
ALERTS = ROOT / "build" / "lab-alerts.json"
# Written by the restore drill (tests/hosts/test_restore_drill.py) and the scale-out
# (tests/hosts/scaling): RPO and RTO, and the new host's converge time.
RESTORE_DRILL = ROOT / "build" / "restore-drill.json"
SCALE_OUT = ROOT / "build" / "lab-scale-out.json"


def _env(**extra: str) -> dict[str, str]:
    # /usr/bin first: the engine's own docker client, not another one earlier on PATH.
    return {
        **os.environ,
        "PATH": f"/usr/bin:{BIN}:{os.environ.get('PATH', '')}",
        "ANSIBLE_VAULT_PASSWORD_FILE": str(VAULT_PASSWORD),
        **extra,
    }


def _run(args: list[str], *, cwd: Path = ROOT, log: str | None = None, **env: str) -> None:
    """Run a step's command; with ``log``, keep its output in a file and show the end on failure."""
    if log is None:
        subprocess.run(args, cwd=cwd, env=_env(**env), check=True)
        return
    path = LOGS / log
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as out:
        completed = subprocess.run(args, cwd=cwd, env=_env(**env), stdout=out, stderr=subprocess.STDOUT, check=False)
    tail = path.read_text().splitlines()
    if completed.returncode != 0:
        console.print("\n".join(tail[-60:]))
        raise SystemExit(f"{' '.join(args[:3])} failed (exit {completed.returncode}); log: {path}")
    note(next((line for line in reversed(tail) if "Playbook run took" in line), f"log: {path}"))


def _pytest(*args: str, **env: str) -> None:
    _run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-o", "addopts=-ra", *args], **env)


def prove(keep: bool, scale_out: bool = True) -> None:
    from lab.__main__ import down, up

    started = time.monotonic()
    LOGS.mkdir(parents=True, exist_ok=True)
    LOGS.joinpath("rollout.json").unlink(missing_ok=True)
    for figures in (ALERTS, RESTORE_DRILL, SCALE_OUT):
        figures.unlink(missing_ok=True)
    try:
        with step("Bringing the lab up"):
            up()
        release = _build()
        with step(f"Converging site.yml on release {release}"):
            _run(
                [str(BIN / "ansible-playbook"), "site.yml", "-e", f"shop_release={release}"],
                cwd=ROOT / "playbooks",
                log="converge.log",
            )
        with step("Converging again: nothing may change"):
            _pytest("tests/hosts/test_idempotence.py", *TESTINFRA)
        with step("Linting the playbooks (ansible-lint, production profile)"):
            _run(
                [
                    str(BIN / "ansible-lint"),
                    "--profile",
                    "production",
                    "site.yml",
                    "deploy.yml",
                    "rollback.yml",
                    "roles",
                    "../lab/roles",
                ],
                cwd=ROOT / "playbooks",
            )
        with step("Linting the Dockerfiles (hadolint)"):
            _run([str(BIN / "hadolint"), "Dockerfile", *map(str, _dockerfiles())])
        if scale_out:
            with step(
                f"Scaling the web group out: {scaling.HOST.name} boots with only its first-boot "
                "script and configures itself beside the next steps"
            ):
                scaling.launch(release)
        with step("Checking the hosts (testinfra), rotating the database password, a restore drill"):
            _pytest(
                "tests/hosts",
                "--ignore=tests/hosts/test_idempotence.py",
                "--ignore=tests/hosts/rollout",
                "--ignore=tests/hosts/faults",
                "--ignore=tests/hosts/scaling",
                *TESTINFRA,
                SHOP_RELEASE=release,
            )
        with step("Rolling deploys under load: a release, a broken release, a rollback"):
            _pytest("tests/hosts/rollout", *TESTINFRA, SHOP_RELEASE=release)
        if scale_out:
            with step(f"The scale-out: {scaling.HOST.name} checked, in service, then scaled in"):
                _pytest("tests/hosts/scaling", *TESTINFRA, "-s", SHOP_RELEASE=release)
        with step("Injecting faults: each alert reaches Alertmanager, then resolves"):
            _pytest("tests/hosts/faults", *TESTINFRA, "-s", SHOP_RELEASE=release)
        _summary()
    finally:
        if keep:
            note("--keep: the lab stays up (python -m lab down removes it)")
        else:
            with step("Tearing the lab down"):
                down(purge=False)
        console.print(f"[bold]test-hosts took {time.monotonic() - started:.0f} s[/]")


def _dockerfiles() -> list[Path]:
    return sorted(
        [*(Path(__file__).parent / "images").glob("*/Dockerfile"), *(ROOT / "tests" / "hosts").rglob("*.Dockerfile")]
    )


def _build() -> str:
    sys.path.insert(0, str(ROOT / "pipelines"))
    import build_image

    release = build_image.default_release()
    password = str(lab_secrets()["vault_shop_registry_password"])
    os.environ.update(REGISTRY_USERNAME=topo.REGISTRY_USER, REGISTRY_PASSWORD=password)
    with step(f"Building the shop's image {release} and pushing it to the lab registry"):
        build_image.main(["--release", release, "--push", topo.push_repository()])
    return release


def _summary() -> None:
    rollout = LOGS / "rollout.json"
    if rollout.exists():
        for name, figures in json.loads(rollout.read_text()).items():
            note(
                f"{name}: playbook {figures['playbook_seconds']} s, {figures['requests']} "
                f"requests through lb-1, {figures['failed']} failed, releases seen "
                f"{figures['releases']}"
            )
    if ALERTS.exists():
        for fault, figures in json.loads(ALERTS.read_text()).items():
            note(
                f"{fault}: {figures['alert']} fired after {figures['detected_seconds']} s, resolved "
                f"{figures['resolved_seconds']} s after the fault was removed"
            )
    if RESTORE_DRILL.exists():
        drill = json.loads(RESTORE_DRILL.read_text())
        note(f"restore drill: RPO {drill['rpo_seconds']} s, RTO {drill['rto_seconds']} s, rows {drill['rows']}")
    if SCALE_OUT.exists():
        scale_out = json.loads(SCALE_OUT.read_text())
        note(
            f"scale-out: {scale_out['host']} converged from its first-boot script in "
            f"{scale_out['converge_seconds']} s ({scale_out['LifecycleActionResult']})"
        )
    for title, seconds in timings.items():
        note(f"{seconds:7.1f} s  {title}")
