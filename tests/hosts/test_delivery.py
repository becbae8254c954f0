"""Pay, ship, deliver: an order paid through the load balancer's API with the sandbox card is
booked by the worker's event consumers and delivered by the sandbox carrier, whose clock the
worker's scheduler moves (the lab's parcels travel many times faster than real time, so the whole
journey takes seconds). Runs where the inventory names the sandbox carrier (the lab)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from pipelines.smoke import API, Journey, buy

# The lab's journey, at most two days of the carrier's time, takes under 20 s of the lab's: the
# clock moves every 5 s; the rest is the relay, the booking consumer and the webhooks.
DELIVERY_DEADLINE_SECONDS = 90
POLL_SECONDS = 2


@pytest.fixture(scope="module")
def delivery(inventory, public_url) -> dict[str, Any]:
    """An order paid now, followed until it is delivered or the deadline passes."""
    if inventory.get_variables(inventory.get_hosts("all")[0]).get("shop_carrier") != "sandbox":
        pytest.skip("the inventory ships with no sandbox carrier")
    journey = Journey(public_url)
    order, _ = buy(journey)
    paid, statuses = time.monotonic(), [order["status"]]
    while statuses[-1] != "delivered" and time.monotonic() - paid < DELIVERY_DEADLINE_SECONDS:
        time.sleep(POLL_SECONDS)
        seen = journey.call("follow the order", "GET", f"{API}/orders/{order['id']}", (200,)).json()
        if seen["status"] != statuses[-1]:
            statuses.append(seen["status"])
    took = time.monotonic() - paid
    print(f"order {order['id']} went {' -> '.join(statuses)} in {took:.0f} s")
    final = journey.call("see the order", "GET", f"{API}/orders/{order['id']}", (200,)).json()
    shipment = journey.call("see the shipment", "GET", f"{API}/orders/{order['id']}/shipment", (200, 404)).json()
    return {"statuses": statuses, "seconds": took, "order": final, "shipment": shipment}


def test_a_paid_order_is_delivered_within_the_deadline(delivery):
    assert delivery["statuses"][-1] == "delivered", (
        f"after {delivery['seconds']:.0f} s the order went {' -> '.join(delivery['statuses'])}")


def test_the_order_history_shows_it_shipped_then_delivered(delivery):
    moves = [step["to_status"] for step in delivery["order"]["transitions"]]
    assert moves[-3:] == ["paid", "shipped", "delivered"]


def test_the_shipment_timeline_runs_from_the_label_to_the_delivery(delivery):
    events = [event["status"] for event in delivery["shipment"]["events"]]
    assert (events[0], events[-1], delivery["shipment"]["status"]) == ("label_created", "delivered", "delivered")
