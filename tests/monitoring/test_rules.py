"""The alerting and recording rules: valid for Prometheus, tested, complete, on real metrics."""

import re

import pytest
import yaml

from monitoring import metrics

from .conftest import MONITORING, PROMTOOL_TESTS, RULE_FILES, alert_names, alerting_rules, rules, run

ANNOTATIONS = ("summary", "description", "runbook_url", "dashboard_url")
RECORDED = {rule["record"] for rule in rules() if "record" in rule}


def _label(rule: dict) -> str:
    return f'{rule["alert"]}/{rule["labels"].get("severity")}'


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.name)
def test_promtool_accepts_the_rule_file(path):
    result = run("promtool", "check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", PROMTOOL_TESTS, ids=lambda p: p.name)
def test_promtool_unit_tests_pass(path):
    result = run("promtool", "test", "rules", path.name, cwd=path.parent)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("rule", alerting_rules(), ids=_label)
def test_alert_is_named_shop_in_camel_case(rule):
    assert re.fullmatch(r"Shop(?:[A-Z][a-z0-9]*|[A-Z]+(?=[A-Z]|$))+", rule["alert"])


@pytest.mark.parametrize("rule", alerting_rules(), ids=_label)
def test_alert_has_a_known_severity(rule):
    assert rule.get("labels", {}).get("severity") in ("critical", "warning", "info")


@pytest.mark.parametrize("rule", alerting_rules(), ids=_label)
def test_alert_has_every_annotation(rule):
    missing = [a for a in ANNOTATIONS if not rule.get("annotations", {}).get(a)]
    assert missing == []


@pytest.mark.parametrize("rule", alerting_rules(), ids=_label)
def test_alert_summary_is_fixed_and_description_templated(rule):
    annotations = rule["annotations"]
    assert "{{" not in annotations["summary"] and "{{" in annotations["description"]


@pytest.mark.parametrize("rule", alerting_rules(), ids=_label)
def test_alert_links_its_own_runbook(rule):
    assert rule["annotations"]["runbook_url"].endswith(f"/monitoring/runbooks/{rule['alert']}.md")


@pytest.mark.parametrize("name", alert_names())
def test_alert_has_a_runbook(name):
    assert (MONITORING / "runbooks" / f"{name}.md").is_file()


def test_every_runbook_is_for_an_alert():
    runbooks = {p.stem for p in (MONITORING / "runbooks").glob("*.md")}
    assert runbooks - set(alert_names()) == set()


PROMTOOL_CASES = [case for path in PROMTOOL_TESTS for test in yaml.safe_load(path.read_text())["tests"]
                  for case in test.get("alert_rule_test", [])]


@pytest.mark.parametrize("name", alert_names())
def test_alert_has_a_promtool_case_where_it_fires(name):
    assert any(case["alertname"] == name and case["exp_alerts"] for case in PROMTOOL_CASES)


@pytest.mark.parametrize("name", alert_names())
def test_alert_has_a_promtool_case_where_it_stays_silent(name):
    assert any(case["alertname"] == name and not case["exp_alerts"] for case in PROMTOOL_CASES)


@pytest.mark.parametrize("rule", rules(), ids=lambda r: r.get("alert") or r["record"])
def test_rule_reads_only_metrics_that_exist(rule):
    unknown = metrics.names_in(rule["expr"]) - metrics.KNOWN - RECORDED
    assert unknown == set(), "not exposed by the app, an exporter or monitoring/metrics.py's EXPECTED_APP"


@pytest.mark.parametrize("name", sorted(RECORDED))
def test_recording_rule_is_named_level_metric_operations(name):
    assert re.fullmatch(r"[a-z_]+:[a-z_]+:[a-z0-9_]+", name)


@pytest.mark.parametrize("name", alert_names())
def test_alert_is_in_the_readme_table(name):
    assert f"[`{name}`](runbooks/{name}.md)" in (MONITORING / "README.md").read_text()
