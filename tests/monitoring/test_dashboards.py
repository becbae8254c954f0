"""The dashboards: every query parses and reads real metrics; links from alerts land."""

import promql_parser
import pytest

from monitoring import grafana, metrics
from monitoring.links import DASHBOARDS, GRAFANA_BASE_URL

from .conftest import alerting_rules, rules

BOARDS = grafana.dashboards()
RECORDED = {rule["record"] for rule in rules() if "record" in rule}
QUERIES = [(key, grafana.without_grafana_variables(q)) for key, board in BOARDS.items()
           for q in grafana.queries(board)]


def test_every_dashboard_has_queries():
    assert {key for key, _ in QUERIES} == set(BOARDS)


@pytest.mark.parametrize(("board", "expr"), QUERIES)
def test_query_parses(board, expr):
    promql_parser.parse(expr)


@pytest.mark.parametrize(("board", "expr"), QUERIES)
def test_query_reads_only_metrics_that_exist(board, expr):
    unknown = metrics.names_in(expr) - metrics.KNOWN - RECORDED
    assert unknown == set(), "not exposed by the app, an exporter or monitoring/metrics.py's EXPECTED_APP"


@pytest.mark.parametrize("key", sorted(BOARDS))
def test_dashboard_marks_deploys(key):
    names = [a["name"] for a in BOARDS[key]["annotations"]["list"]]
    assert "Deploys" in names


@pytest.mark.parametrize("key", sorted(BOARDS))
def test_panel_ids_are_unique(key):
    ids = [p["id"] for p in BOARDS[key]["panels"]]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("rule", alerting_rules(), ids=lambda r: f'{r["alert"]}/{r["labels"]["severity"]}')
def test_alert_links_a_dashboard_that_exists(rule):
    uids = {f"{GRAFANA_BASE_URL}/d/{uid}" for uid, _title in DASHBOARDS.values()}
    assert rule["annotations"]["dashboard_url"] in uids
