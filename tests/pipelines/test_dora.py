"""The DORA figures computed from a known release history."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipelines import dora
from pipelines.releases import FAILED, SUCCESS, Marker, markers, record

AT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _deploy(finished: str, result: str = SUCCESS, commits: tuple[str, ...] = (), **extra) -> Marker:
    return Marker(target="lab", release=f"r-{finished}", version="0.1.0", git_sha="0" * 40, started=finished,
                  finished=finished, duration_seconds=60.0, result=result, change_times=list(commits), **extra)


# Ten days of the lab: four successful deploys, one failed and rolled back, one repeat of the
# running release, one deploy older than the 30-day window and one to another target.
HISTORY = [
    _deploy("2026-10-01T12:00:00+00:00", commits=("2026-10-01T10:00:00+00:00",)),  # outside the window
    _deploy("2026-11-21T12:00:00+00:00", commits=("2026-11-21T11:00:00+00:00", "2026-11-21T10:00:00+00:00")),
    _deploy("2026-11-23T12:00:00+00:00", commits=("2026-11-23T08:00:00+00:00",)),
    _deploy("2026-11-25T12:00:00+00:00", FAILED, ("2026-11-25T11:30:00+00:00",),
            failed_at="2026-11-25T12:00:00+00:00", restored_at="2026-11-25T12:06:00+00:00"),
    _deploy("2026-11-25T12:10:00+00:00", changed=False),  # the running release again: not a deploy
    _deploy("2026-11-27T12:00:00+00:00", FAILED, ("2026-11-27T11:00:00+00:00",),
            failed_at="2026-11-27T12:00:00+00:00"),  # not rolled back: restored by the next deploy
    _deploy("2026-11-27T14:00:00+00:00", commits=("2026-11-27T13:00:00+00:00",)),
    _deploy("2026-11-30T12:00:00+00:00", commits=("2026-11-30T11:45:00+00:00",)),
    Marker(target="dev", release="x", version="0.1.0", git_sha="1" * 40, started="2026-11-30T12:00:00+00:00",
           finished="2026-11-30T12:00:00+00:00", duration_seconds=1.0, result=FAILED),
]


@pytest.fixture(scope="module")
def figures() -> dora.Dora:
    return dora.compute(HISTORY, "lab", AT)


def test_counts_only_deploys_that_changed_the_hosts_in_the_window(figures):
    assert (figures.deployments, figures.failures) == (6, 2)


def test_deployment_frequency_is_successful_deploys_per_day(figures):
    assert figures.deployment_frequency == pytest.approx(4 / 30)


def test_lead_time_is_the_median_commit_to_deploy_time(figures):
    # Commits reached a successful deploy after 1 h, 2 h, 4 h, 1 h and 15 min: the median is 1 h.
    assert figures.lead_time == 3600


def test_change_failure_rate_is_failed_over_all_deploys(figures):
    assert figures.change_failure_rate == pytest.approx(2 / 6)


def test_time_to_restore_is_the_median_of_rollback_and_next_deploy(figures):
    # 6 min by the automatic rollback, 2 h until the next successful deploy: the median of the two.
    assert figures.time_to_restore == (6 * 60 + 2 * 3600) / 2 and figures.unrestored == 0


def test_a_failure_never_restored_is_counted_apart():
    other = dora.compute(HISTORY, "dev", AT)
    assert (other.time_to_restore, other.unrestored, other.change_failure_rate) == (None, 1, 1.0)


def test_no_history_gives_no_medians():
    empty = dora.compute([], "lab", AT)
    assert (empty.deployment_frequency, empty.lead_time, empty.change_failure_rate) == (0, None, 0)


def test_the_textfile_holds_the_shop_dora_metrics(tmp_path, figures):
    text = dora.write_textfile([figures], tmp_path / "shop_dora.prom").read_text()
    assert 'shop_dora_change_failure_ratio{target="lab"} 0.3333333333333333' in text
    assert 'shop_dora_lead_time_seconds{target="lab"} 3600.0' in text


def test_markers_round_trip_through_the_history_file(tmp_path):
    path = tmp_path / "releases.jsonl"
    for marker in HISTORY:
        record(marker, path)
    assert markers("lab", path) == [m for m in HISTORY if m.target == "lab"]
