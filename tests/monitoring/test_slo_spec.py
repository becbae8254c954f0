"""The SLO spec names the shop's real routes."""

import pytest

from monitoring import slo
from shop import create_app

SPEC = slo.load()


@pytest.fixture(scope="module")
def routes() -> set[str]:
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    return {rule.rule for rule in app.url_map.iter_rules()}


@pytest.mark.parametrize("route", sorted({route for s in SPEC.slos for route in s.routes}))
def test_listed_route_is_a_route_of_the_shop(routes, route):
    assert route in routes


@pytest.mark.parametrize("objective", [s for s in SPEC.slos if s.route_pattern], ids=lambda s: s.name)
def test_route_pattern_matches_a_route_of_the_shop(routes, objective):
    assert any(objective.matches(route) for route in routes)


def test_an_slo_without_routes_is_refused():
    with pytest.raises(ValueError, match="routes"):
        slo.SLO(name="x", alert="X", description="", objective=0.99, kind="availability")


def test_a_latency_threshold_between_buckets_is_refused():
    with pytest.raises(ValueError, match="buckets"):
        slo.SLO(name="x", alert="X", description="", objective=0.99, kind="latency",
                routes=("/",), threshold_seconds=0.3)
