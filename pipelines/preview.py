"""Preview a stack's infrastructure change, the policy pack always applied.

With a Pulumi CLI and credentials (``PULUMI_ACCESS_TOKEN`` or ``PULUMI_BACKEND_URL``) this runs
``pulumi preview --policy-pack infra/policy``; ``--apply`` then runs ``pulumi up`` with the same pack.
Neither ever runs without the pack: the pipeline refuses.

Without them (here, and on any laptop) it runs the program offline under Pulumi's mocks
(``infra/offline.py``) and diffs its resources with the reviewed snapshot of a base revision
(``infra/snapshots/<stack>.yaml`` at ``--base``; the working tree's file by default). Either way,
a replacement or deletion of a stateful resource (database, cache, broker, registry) is a
blocker: the step fails. The summary is written to ``build/preview/<stack>.md`` for the pull
request (and to ``$GITHUB_STEP_SUMMARY`` in GitHub Actions).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from infra.policy.policies import ECR_REPOSITORY, MQ_BROKER, RDS_CLUSTER, RDS_INSTANCE, REDIS_GROUP, STATEFUL_TYPES
from pipelines.runner import ROOT, StepFailed, say, shown

POLICY_PACK = ROOT / "infra" / "policy"
SNAPSHOTS = "infra/snapshots"
SUMMARIES = ROOT / "build" / "preview"
# Properties the AWS provider cannot change in place on each stateful type (ForceNew): a change
# to any of them replaces the resource, and with it the data it holds.
REPLACING_PROPERTIES: Mapping[str, tuple[str, ...]] = {
    RDS_INSTANCE: ("identifier", "identifierPrefix", "engine", "dbName", "username", "storageEncrypted",
                   "kmsKeyId", "availabilityZone", "characterSetName", "timezone"),
    RDS_CLUSTER: ("clusterIdentifier", "engine", "databaseName", "masterUsername", "storageEncrypted",
                  "kmsKeyId", "availabilityZones"),
    REDIS_GROUP: ("replicationGroupId", "atRestEncryptionEnabled", "kmsKeyId", "subnetGroupName", "port",
                  "snapshotArns"),
    MQ_BROKER: ("brokerName", "engineType", "deploymentMode", "storageType", "subnetIds", "encryptionOptions",
                "publiclyAccessible"),
    ECR_REPOSITORY: ("name", "encryptionConfigurations"),
}
assert set(REPLACING_PROPERTIES) == set(STATEFUL_TYPES), "the policy pack's stateful types changed"
PULUMI_REPLACE_OPS = {"replace", "create-replacement", "delete-replaced"}


@dataclass(frozen=True)
class Entry:
    type: str
    name: str
    parent: str = ""
    properties: Mapping[str, Any] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[str, str]:
        return self.type, self.name

    @property
    def stateful(self) -> bool:
        return self.type in REPLACING_PROPERTIES

    def label(self) -> str:
        return f"{self.type} {self.name}"


@dataclass
class Diff:
    created: list[Entry] = field(default_factory=list)
    deleted: list[Entry] = field(default_factory=list)
    updated: list[tuple[Entry, list[str]]] = field(default_factory=list)
    blockers: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.deleted or self.updated)


Aliases = Mapping[tuple[str, str], tuple[str, ...]]


def entries(document: Mapping[str, Any], aliases: Aliases | None = None) -> list[Entry]:
    """The resources of a snapshot document (``infra/snapshots/<stack>.yaml``)."""
    return [
        Entry(item["type"], item["name"], item.get("parent", ""), item.get("properties") or {},
              (aliases or {}).get((item["type"], item["name"]), ()))
        for item in document.get("resources") or []
    ]


def diff(before: Iterable[Entry], after: Iterable[Entry]) -> Diff:
    """What changes from ``before`` to ``after``; stateful replacements and deletions are blockers."""
    old = {entry.key: entry for entry in before}
    new = {entry.key: entry for entry in after}
    result = Diff()
    renamed_from: dict[tuple[str, str], Entry] = {}
    for key in new.keys() - old.keys():
        entry = new[key]
        source = next((old[k] for k in old.keys() - new.keys() if k[0] == entry.type and _aliased(entry, old[k])), None)
        if source is not None:
            renamed_from[source.key] = entry
        else:
            result.created.append(entry)
    for key in old.keys() - new.keys():
        entry = old[key]
        if key in renamed_from:
            continue
        result.deleted.append(entry)
        if entry.stateful:
            replacement = next((e for e in result.created if e.type == entry.type), None)
            result.blockers.append(
                f"{entry.label()} would be replaced by {replacement.name} (delete + create): its data goes with it"
                if replacement else f"{entry.label()} would be deleted, and its data with it"
            )
    for key in old.keys() & new.keys():
        before_entry, after_entry = old[key], new[key]
        changed = sorted(k for k in before_entry.properties.keys() | after_entry.properties.keys()
                         if before_entry.properties.get(k) != after_entry.properties.get(k))
        if before_entry.parent != after_entry.parent:
            changed.append("parent")
        if not changed:
            continue
        result.updated.append((after_entry, changed))
        if not after_entry.stateful:
            continue
        forcing = [k for k in changed if k in REPLACING_PROPERTIES[after_entry.type]]
        if before_entry.parent != after_entry.parent and not after_entry.aliases:
            forcing.append(f"parent {before_entry.parent or '(stack)'} -> {after_entry.parent or '(stack)'}, "
                           "a new URN without an alias")
        if forcing:
            result.blockers.append(f"{after_entry.label()} would be replaced: {', '.join(forcing)} changed")
    for collection in (result.created, result.deleted):
        collection.sort(key=lambda e: e.key)
    result.updated.sort(key=lambda pair: pair[0].key)
    return result


def _aliased(entry: Entry, former: Entry) -> bool:
    return any(alias == former.name or alias.endswith(f"::{former.name}") for alias in entry.aliases)


def render(stack: str, result: Diff, how: str) -> str:
    lines = [f"### Infrastructure preview: `{stack}`", "", how, ""]
    if not result.changed:
        lines.append("No change to the stack's resources.")
    for title, items in (("Create", result.created), ("Delete", result.deleted)):
        if items:
            lines += [f"**{title}** ({len(items)}):", *[f"- `{e.type}` `{e.name}`" for e in items], ""]
    if result.updated:
        lines += [f"**Update** ({len(result.updated)}):",
                  *[f"- `{e.type}` `{e.name}`: {', '.join(props)}" for e, props in result.updated], ""]
    if result.blockers:
        lines += ["**Blockers** (stateful resources replaced or deleted):", *[f"- {b}" for b in result.blockers]]
    return "\n".join(lines) + "\n"


def _baseline(stack: str, base: str | None) -> dict[str, Any]:
    path = f"{SNAPSHOTS}/{stack}.yaml"
    if base is None:
        text = (ROOT / path).read_text()
    else:
        text = subprocess.run(["git", "show", f"{base}:{path}"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout
    return yaml.safe_load(text) or {}


def offline_diff(stack: str, base: str | None = None) -> Diff:
    from infra import offline, snapshot

    offline.load_provider_modules()
    run = offline.run(stack)
    aliases = {(r.type, r.name): tuple(a for a in r.aliases if a) for r in run.resources}
    after = entries(yaml.safe_load(snapshot.render_snapshot(run)), aliases)
    return diff(entries(_baseline(stack, base)), after)


def pulumi_available() -> bool:
    return shutil.which("pulumi") is not None and bool(
        os.environ.get("PULUMI_ACCESS_TOKEN") or os.environ.get("PULUMI_BACKEND_URL"))


def pulumi_command(verb: str, stack: str, policy_pack: Path | None) -> list[str]:
    """The one way the pipeline calls ``pulumi preview`` or ``pulumi up``: with the policy pack."""
    if policy_pack is None or not (policy_pack / "PulumiPolicy.yaml").exists():
        raise StepFailed(f"refusing to run pulumi {verb} on {stack} without the policy pack "
                         f"({shown(POLICY_PACK)}): every preview and update is checked against it")
    command = ["pulumi", verb, "--stack", stack, "--policy-pack", str(policy_pack), "--non-interactive"]
    return command + (["--diff", "--json"] if verb == "preview" else ["--yes"])


def pulumi_diff(stack: str, policy_pack: Path | None) -> Diff:
    completed = subprocess.run(pulumi_command("preview", stack, policy_pack), cwd=ROOT, capture_output=True,
                               text=True, check=False)
    if completed.returncode != 0:
        raise StepFailed(f"pulumi preview failed (policy violations or errors):\n{completed.stdout[-4000:]}"
                         f"{completed.stderr[-2000:]}")
    result = Diff()
    for step in json.loads(completed.stdout).get("steps", []):
        urn = step.get("urn", "")
        type_, name = urn.split("::")[-2].split("$")[-1], urn.split("::")[-1]
        entry = Entry(type_, name)
        op = step.get("op")
        if op == "create":
            result.created.append(entry)
        elif op == "delete":
            result.deleted.append(entry)
        elif op in ("update", *PULUMI_REPLACE_OPS):
            result.updated.append((entry, [f"{op}: {', '.join(step.get('diffReasons') or [])}"]))
        if entry.stateful and (op in PULUMI_REPLACE_OPS or op == "delete"):
            result.blockers.append(f"{entry.label()}: pulumi plans {op}")
    return result


def preview(stack: str, base: str | None = None, policy_pack: Path | None = POLICY_PACK, apply: bool = False) -> str:
    if pulumi_available():
        how = f"`pulumi preview --policy-pack {shown(policy_pack or POLICY_PACK)}` against the stack's state."
        result = pulumi_diff(stack, policy_pack)
    else:
        pulumi_command("preview", stack, policy_pack)  # the same refusal offline
        if apply:
            raise StepFailed("pulumi up needs the Pulumi CLI and credentials; this run is offline")
        how = ("Ran **offline**: no Pulumi CLI or credentials here, so the program ran under mocks and its "
               f"resources were compared with `{SNAPSHOTS}/{stack}.yaml` at `{base or 'the working tree'}`. "
               "Physical changes the provider would compute are not shown.")
        result = offline_diff(stack, base)
    summary = render(stack, result, how)
    SUMMARIES.mkdir(parents=True, exist_ok=True)
    path = SUMMARIES / f"{stack}.md"
    path.write_text(summary)
    if os.environ.get("GITHUB_STEP_SUMMARY"):
        with open(os.environ["GITHUB_STEP_SUMMARY"], "a") as step_summary:
            step_summary.write(summary)
    say(summary)
    counts = (f"{len(result.created)} to create, {len(result.updated)} to update, "
              f"{len(result.deleted)} to delete ({'offline' if not pulumi_available() else 'pulumi'}; {shown(path)})")
    if result.blockers:
        raise StepFailed(f"{len(result.blockers)} blocker(s): {'; '.join(result.blockers)}; {counts}")
    if apply:
        subprocess.run(pulumi_command("up", stack, policy_pack), cwd=ROOT, check=True)
        return f"applied with the policy pack: {counts}"
    return counts
