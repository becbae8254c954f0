"""The SLO spec names the shop's real routes."""

import pytest

from monitoring import slo
from shop import create_app

SPEC = slo.load()


@pytest.fixture(scope="module")
def endpoints() -> set[str]:
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    return {rule.endpoint for rule in app.url_map.iter_rules()}


@pytest.mark.parametrize("name", sorted({e for s in SPEC.slos for e in s.endpoints}))
def test_listed_endpoint_is_a_route_of_the_shop(endpoints, name):
    assert name in endpoints


@pytest.mark.parametrize("objective", [s for s in SPEC.slos if s.endpoint_pattern], ids=lambda s: s.name)
def test_endpoint_pattern_matches_a_route_of_the_shop(endpoints, objective):
    assert any(objective.matches(e) for e in endpoints)


def test_an_slo_without_endpoints_is_refused():
    with pytest.raises(ValueError, match="endpoints"):
        slo.SLO(name="x", alert="X", description="", objective=0.99, kind="availability")


def test_a_latency_threshold_between_buckets_is_refused():
    with pytest.raises(ValueError, match="buckets"):
        slo.SLO(name="x", alert="X", description="", objective=0.99, kind="latency",
                endpoints=("storefront.index",), threshold_seconds=0.3)
