"""The preview step: the offline diff against the reviewed snapshot and its stateful blockers."""

from __future__ import annotations

import copy

import pytest
import yaml

from pipelines import preview
from pipelines.runner import ROOT, StepFailed


@pytest.fixture(scope="module")
def dev_snapshot() -> dict:
    return yaml.safe_load((ROOT / "infra" / "snapshots" / "dev.yaml").read_text())


def _database(document: dict) -> dict:
    return next(r for r in document["resources"] if r["type"] == preview.RDS_INSTANCE)


def test_an_unchanged_program_previews_clean():
    assert preview.preview("dev").startswith("0 to create, 0 to update, 0 to delete (offline")


def test_the_summary_says_it_ran_offline():
    preview.preview("dev")
    assert "Ran **offline**" in (preview.SUMMARIES / "dev.md").read_text()


def test_a_database_replacement_is_a_blocker(dev_snapshot):
    before = copy.deepcopy(dev_snapshot)
    _database(before)["properties"]["dbName"] = "another"
    result = preview.diff(preview.entries(before), preview.entries(dev_snapshot))
    assert result.blockers == [f"{preview.RDS_INSTANCE} {_database(dev_snapshot)['name']} would be replaced: "
                               "dbName changed"]


def test_a_renamed_database_without_an_alias_is_a_blocker(dev_snapshot):
    after = copy.deepcopy(dev_snapshot)
    _database(after)["name"] = "shop-dev-db-renamed"
    result = preview.diff(preview.entries(dev_snapshot), preview.entries(after))
    assert len(result.blockers) == 1 and "delete + create" in result.blockers[0]


def test_a_renamed_database_with_an_alias_is_not_a_blocker(dev_snapshot):
    after = copy.deepcopy(dev_snapshot)
    old_name = _database(after)["name"]
    _database(after)["name"] = "shop-dev-db-renamed"
    aliases = {(preview.RDS_INSTANCE, "shop-dev-db-renamed"): (old_name,)}
    result = preview.diff(preview.entries(dev_snapshot), preview.entries(after, aliases))
    assert result.blockers == [] and result.created == [] and result.deleted == []


def test_an_in_place_database_change_is_not_a_blocker(dev_snapshot):
    after = copy.deepcopy(dev_snapshot)
    _database(after)["properties"]["backupRetentionPeriod"] = 14
    result = preview.diff(preview.entries(dev_snapshot), preview.entries(after))
    assert result.blockers == [] and [props for _, props in result.updated] == [["backupRetentionPeriod"]]


def test_a_deleted_broker_is_a_blocker(dev_snapshot):
    after = copy.deepcopy(dev_snapshot)
    after["resources"] = [r for r in after["resources"] if r["type"] != preview.MQ_BROKER]
    result = preview.diff(preview.entries(dev_snapshot), preview.entries(after))
    assert len(result.blockers) == 1 and "would be deleted" in result.blockers[0]


def test_the_preview_fails_on_a_blocker(monkeypatch, dev_snapshot):
    before = copy.deepcopy(dev_snapshot)
    _database(before)["properties"]["identifier"] = "shop-dev-db-0000"
    monkeypatch.setattr(preview, "_baseline", lambda stack, base: before)
    with pytest.raises(StepFailed, match="1 blocker"):
        preview.preview("dev")


@pytest.mark.parametrize("pack", [None, ROOT / "nowhere"])
def test_pulumi_never_runs_without_the_policy_pack(pack):
    with pytest.raises(StepFailed, match="without the policy pack"):
        preview.pulumi_command("up", "prod", pack)


def test_pulumi_runs_with_the_policy_pack():
    command = preview.pulumi_command("preview", "dev", preview.POLICY_PACK)
    assert command[:2] == ["pulumi", "preview"] and "--policy-pack" in command
