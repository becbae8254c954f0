"""The hub network: shortest routes (Dijkstra), postal codes to hubs, ETAs and the cut-off,
on small constructed networks whose answers are known, and on the network the shop ships."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from shop.logistics.network import Hub, Network, NoRoute, Route, load_network, shortest_route


def links(*edges: tuple[str, str, float]) -> dict[str, dict[str, float]]:
    graph: dict[str, dict[str, float]] = {}
    for one, other, hours in edges:
        graph.setdefault(one, {})[other] = hours
        graph.setdefault(other, {})[one] = hours
    return graph


# A -1- B -1- C -1- D, and a direct A -5- D: the long way round is shorter.
DETOUR = links(("A", "B", 1), ("B", "C", 1), ("C", "D", 1), ("A", "D", 5))


def test_the_shortest_route_takes_the_fewest_hours_not_the_fewest_hubs():
    assert shortest_route(DETOUR, "A", "D") == Route(("A", "B", "C", "D"), (0.0, 1.0, 2.0, 3.0))


def test_a_cheaper_path_found_later_replaces_a_dearer_one_seen_first():
    # From S, T is reached first at 10 directly, then at 2 through U.
    graph = links(("S", "T", 10), ("S", "U", 1), ("U", "T", 1), ("T", "V", 1))
    assert shortest_route(graph, "S", "V").hubs == ("S", "U", "T", "V")
    assert shortest_route(graph, "S", "V").hours == 3.0


def test_the_route_to_the_origin_itself_is_the_origin():
    assert shortest_route(DETOUR, "C", "C") == Route(("C",), (0.0,))


def test_an_unreachable_hub_has_no_route():
    graph = links(("A", "B", 1)) | {"Z": {}}
    with pytest.raises(NoRoute) as refused:
        shortest_route(graph, "A", "Z")
    assert refused.value.status == 422
    assert refused.value.extra["field"] == "postal_code"


def test_a_hub_outside_the_network_has_no_route():
    with pytest.raises(NoRoute):
        shortest_route(DETOUR, "A", "Q")


def network(cutoff: time = time(16, 0)) -> Network:
    return Network(hubs={"A": Hub("A", "Alpha", 1), "B": Hub("B", "Beta", 2), "D": Hub("D", "Delta", 4),
                         "C": Hub("C", "Gamma", 1), "Z": Hub("Z", "Zulu", 1)},
                   links=DETOUR | {"Z": {}}, postal_prefixes={"1": "B", "12": "D", "9": "Z"}, warehouse="A",
                   cutoff=cutoff)


def test_a_postal_code_goes_to_the_hub_of_its_longest_prefix():
    assert network().hub_for("1 99") == "B"
    assert network().hub_for("12 345") == "D"


def test_a_postal_code_no_hub_serves_has_no_route():
    with pytest.raises(NoRoute):
        network().route_to("55555")


def test_an_order_by_the_cut_off_leaves_that_day():
    booked = datetime(2026, 3, 2, 15, 59, tzinfo=UTC)
    # Leaves at 16:00, 3 h to D, 4 h to deliver.
    assert network().eta(network().route_to("12000"), booked) == datetime(2026, 3, 2, 23, 0, tzinfo=UTC)


def test_an_order_after_the_cut_off_leaves_the_next_day():
    booked = datetime(2026, 3, 2, 16, 1, tzinfo=UTC)
    assert network().eta(network().route_to("12000"), booked) == datetime(2026, 3, 3, 23, 0, tzinfo=UTC)


def test_the_eta_from_a_hub_counts_only_the_rest_of_the_route():
    seen = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)
    # At C, one hour from D, then 4 h to deliver.
    assert network().eta_from(network().route_to("12000"), "C", seen) == seen + timedelta(hours=5)


def test_the_shipped_network_routes_edinburgh_by_the_east_coast():
    shipped = load_network()
    assert shipped.warehouse == "DIR"
    assert 10 <= len(shipped.hubs) <= 15
    route = shipped.route_to("EH1 1YZ")
    assert route.hubs == ("DIR", "NOT", "LDS", "NCL", "EDI")
    assert route.hours == 10.0


def test_the_shipped_network_does_not_reach_shetland():
    with pytest.raises(NoRoute):
        load_network().route_to("ZE1 0AA")
