"""Logistics: every paid order is shipped by a carrier, tracked, and shown to the shopper.

carrier (the interface carriers are driven through) and sandbox (a built-in one), network (hubs,
routes, ETAs), booking (shipments booked, cancelled and reconciled), tracking (carrier events by
webhook or polling, and the order following its shipment), consumers (the order events that start
both), queries (what the API and storefront show)."""
