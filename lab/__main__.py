"""python -m lab up | down | status: the local lab of EC2-like hosts."""

from __future__ import annotations

import argparse
import shutil
import time

from lab import aws, engine, images, inventory, resources
from lab import topology as topo
from lab.progress import console, note, step, timings
from lab.secrets import SSH_KEY, VAULT_PASSWORD, fingerprint, lab_secrets, ssh_key


def up() -> None:
    started = time.monotonic()
    docker = engine.client()
    base = images.base_image(docker)
    host_image = images.built_image(docker, "host", base)
    registry_image = images.built_image(docker, "registry", base)
    ssh_key()
    secrets = lab_secrets()
    owner = fingerprint()
    resources.replace_foreign(docker, owner)
    with step(f"Starting the network {topo.NETWORK} ({topo.SUBNET}) and the registry"):
        resources.network(docker)
        resources.registry(docker, registry_image, str(secrets["vault_shop_registry_password"]), owner)
    with step(f"Starting the lab's AWS endpoint on {aws.endpoint_url()}"):
        note("started" if aws.start() else "already running")
        stack = aws.seed(inventory.DATABASE_USER, str(secrets["vault_shop_database_password"]))
    with step("Writing the lab inventory"):
        inventory.write(stack)
    with step(f"Starting {len(topo.HOSTS)} hosts"):
        created = [h for h in topo.HOSTS if resources.host(docker, host_image, h, owner)]
        if created:
            # New hosts have new host keys: forget the old ones rather than trust them blindly.
            topo.STATE.joinpath("known_hosts").unlink(missing_ok=True)
        note(f"created: {', '.join(h.name for h in created) or 'none (all were running)'}")
    with step("Waiting for SSH on every host"):
        for lab_host in topo.HOSTS:
            resources.wait_for_ssh(lab_host, inventory.known_hosts())
    console.print(f"[bold green]Lab up[/] in {time.monotonic() - started:.1f} s")
    describe()


def describe() -> None:
    lb = next(h for h in topo.HOSTS if h.group == "lb")
    monitor = next(h for h in topo.HOSTS if h.group == "monitor")
    for lab_host in topo.HOSTS:
        note(f"{lab_host.name:<10} {lab_host.ip:<14} {lab_host.purpose}")
    note(f"shop (through lb-1):  http://{lb.ip}/")
    note(f"Prometheus:           http://{monitor.ip}:9090/")
    note(f"Alertmanager:         http://{monitor.ip}:9093/")
    note(f"registry (push):      {topo.push_repository()}")
    note(f"AWS (moto):           {aws.endpoint_url()}")
    note(f"a shell on a host:    ssh -i {SSH_KEY} {topo.SSH_USER}@<address>")
    note(f"                      or: docker exec -it {topo.PREFIX}-web-1 bash")
    note(
        f"converge:             cd playbooks && ANSIBLE_VAULT_PASSWORD_FILE={VAULT_PASSWORD} "
        "ansible-playbook -i inventories/lab site.yml -e shop_release=<tag>"
    )


def down(purge: bool) -> None:
    docker = engine.client()
    aws.stop()
    resources.remove_all(docker)
    for generated in ("hosts.yml", "group_vars/all/stack.yml", "group_vars/all/vault.yml"):
        topo.INVENTORY.joinpath(generated).unlink(missing_ok=True)
    shutil.rmtree(topo.STATE, ignore_errors=True)
    # The tags pushed to the lab registry went with it.
    _untag(docker, docker.images.list(filters={"reference": f"{topo.push_repository()}:*"}))
    if purge:
        _untag(docker, docker.images.list(filters={"reference": "shopstack/*"}))
        shutil.rmtree(topo.APT_CACHE, ignore_errors=True)
        note("removed the cached images and .deb files")
    console.print("[bold green]Lab down[/]")


def _untag(docker, images) -> None:
    for image in images:
        for tag in image.tags:
            docker.images.remove(tag)
        if not image.tags:  # left with only a digest after its tag moved on
            docker.images.remove(image.id)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m lab", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("up", help="build the images and start the lab (idempotent)")
    remove = commands.add_parser("down", help="remove everything `up` created")
    remove.add_argument("--purge", action="store_true", help="also remove the cached images and downloaded packages")
    commands.add_parser("status", help="print the hosts, URLs and how to reach them")
    commands.add_parser("images", help="build the base and host images only (molecule uses them)")
    proof = commands.add_parser(
        "prove",
        help="up, converge, idempotence, lint, scale-out, testinfra, rolling deploys, faults, down (make test-hosts)",
    )
    proof.add_argument("--keep", action="store_true", help="leave the lab up afterwards")
    proof.add_argument("--no-scale-out", dest="scale_out", action="store_false",
                       help="skip the scale-out (web-3 booted from its first-boot script alone, checked, in "
                            "service, scaled back in)")
    args = parser.parse_args()
    if args.command == "up":
        up()
    elif args.command == "down":
        down(args.purge)
    elif args.command == "images":
        docker = engine.client()
        images.built_image(docker, "host", images.base_image(docker))
    elif args.command == "prove":
        from lab.proof import prove

        prove(args.keep, args.scale_out)
    else:
        describe()
    if timings and args.command != "prove":
        note("timings: " + ", ".join(f"{k}: {v:.1f} s" for k, v in timings.items()))


if __name__ == "__main__":
    main()
