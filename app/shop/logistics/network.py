"""The carrier's hub network (network.json): which hub a postal code is delivered from, the
shortest route to it from the warehouse (Dijkstra over the links' transit hours), and the
estimated time of arrival that follows from the route and the warehouse's daily cut-off."""

from __future__ import annotations

import functools
import heapq
import json
import math
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

from ..errors import Problem

NETWORK_FILE = Path(__file__).with_name("network.json")
# A parcel that could not be delivered is tried again this much later.
REDELIVERY_HOURS = 24


class NoRoute(Problem):
    """The network cannot carry a parcel there: the ETA is unknown."""

    def __init__(self, destination: str, reason: str):
        super().__init__(422, "No route", f"No route to {destination}: {reason}", type_="no-route",
                         field="postal_code")


@dataclass(frozen=True)
class Hub:
    code: str
    name: str
    delivery_hours: float


@dataclass(frozen=True)
class Route:
    """The hubs a parcel passes, warehouse first, and the hours from leaving the first to reaching each."""

    hubs: tuple[str, ...]
    arrivals: tuple[float, ...]

    @property
    def hours(self) -> float:
        return self.arrivals[-1]

    def hours_after(self, hub: str) -> float | None:
        """Transit hours left from `hub` to the destination, or None if the route does not pass it."""
        if hub not in self.hubs:
            return None
        return self.hours - self.arrivals[self.hubs.index(hub)]


@dataclass(frozen=True)
class Network:
    hubs: dict[str, Hub]
    links: dict[str, dict[str, float]]  # hub -> neighbour -> transit hours
    postal_prefixes: dict[str, str]  # normalised postal-code prefix -> hub
    warehouse: str
    cutoff: time  # the warehouse's daily collection, UTC

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> Network:
        hubs = {code: Hub(code, hub["name"], float(hub["delivery_hours"])) for code, hub in document["hubs"].items()}
        links: dict[str, dict[str, float]] = {code: {} for code in hubs}
        for one, other, hours in document["links"]:
            links[one][other] = links[other][one] = float(hours)
        warehouse = document["warehouse"]
        return cls(hubs, links, {normalise(prefix): hub for prefix, hub in document["postal_prefixes"].items()},
                   warehouse, time.fromisoformat(document["hubs"][warehouse]["cutoff"]))

    def hub_for(self, postal_code: str) -> str:
        """The destination hub of a postal code: that of its longest matching prefix."""
        code = normalise(postal_code)
        matches = [prefix for prefix in self.postal_prefixes if code.startswith(prefix)]
        if not matches:
            raise NoRoute(postal_code, "no hub serves this postal code")
        return self.postal_prefixes[max(matches, key=len)]

    def route_to(self, postal_code: str) -> Route:
        return shortest_route(self.links, self.warehouse, self.hub_for(postal_code))

    def departure(self, booked_at: datetime) -> datetime:
        """The warehouse's next collection: today's if booked by the cut-off, else tomorrow's."""
        today = datetime.combine(booked_at.date(), self.cutoff, tzinfo=booked_at.tzinfo)
        return today if booked_at <= today else today + timedelta(days=1)

    def eta(self, route: Route, booked_at: datetime) -> datetime:
        return self.departure(booked_at) + timedelta(hours=route.hours + self.hubs[route.hubs[-1]].delivery_hours)

    def eta_from(self, route: Route, hub: str, at: datetime) -> datetime:
        """The ETA of a parcel seen at `hub` at `at`: the rest of its route and the last mile (a
        parcel off its route goes on by the shortest route from where it is)."""
        left = route.hours_after(hub)
        if left is None:
            left = shortest_route(self.links, hub, route.hubs[-1]).hours
        return at + timedelta(hours=left + self.hubs[route.hubs[-1]].delivery_hours)


def normalise(postal_code: str) -> str:
    return "".join(postal_code.split()).upper()


def shortest_route(links: dict[str, dict[str, float]], origin: str, destination: str) -> Route:
    """Dijkstra's shortest path by transit hours (ties go to the alphabetically first hub)."""
    if origin not in links or destination not in links:
        raise NoRoute(destination, "the hub is not in the network")
    best = {origin: 0.0}
    previous: dict[str, str] = {}
    queue = [(0.0, origin)]
    settled: set[str] = set()
    while queue:
        hours, hub = heapq.heappop(queue)
        if hub in settled:
            continue
        settled.add(hub)
        if hub == destination:
            break
        for neighbour, leg in links[hub].items():
            if hours + leg < best.get(neighbour, math.inf):
                best[neighbour] = hours + leg
                previous[neighbour] = hub
                heapq.heappush(queue, (hours + leg, neighbour))
    if destination not in settled:
        raise NoRoute(destination, f"no link leads there from {origin}")
    path = [destination]
    while path[-1] != origin:
        path.append(previous[path[-1]])
    path.reverse()
    return Route(tuple(path), tuple(best[hub] for hub in path))


@functools.cache
def load_network(path: Path = NETWORK_FILE) -> Network:
    return Network.from_document(json.loads(path.read_text()))
