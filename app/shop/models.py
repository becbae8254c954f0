"""Every table, imported in one place so metadata (and Alembic) sees them all."""

from .accounts.models import User
from .cart.models import Cart, CartLine, Coupon, Promotion
from .catalog.models import Category, Product, ProductImage, StockAdjustment
from .events.audit import OrderEventCount, OrderEventLog
from .events.models import DeadLetter, InboxEntry
from .logistics.models import Shipment, ShipmentEvent
from .logistics.sandbox import SandboxParcel, SandboxTrackingEvent
from .orders.models import IdempotencyRecord, Order, OrderLine, OrderTransition
from .outbox import OutboxEvent
from .payments.models import Payment, Refund, WebhookEvent
from .payments.sandbox import SandboxEntry
from .reviews.models import Review, ReviewVote
from .support.models import CategoryCorrection, OrderFeedback, Ticket, TicketMessage

__all__ = [
    "Cart", "CartLine", "Category", "CategoryCorrection", "Coupon", "DeadLetter", "IdempotencyRecord", "InboxEntry",
    "Order", "OrderEventCount", "OrderEventLog", "OrderFeedback", "OrderLine", "OrderTransition", "OutboxEvent",
    "Payment", "Product", "ProductImage", "Promotion", "Refund", "Review", "ReviewVote", "SandboxEntry",
    "SandboxParcel", "SandboxTrackingEvent", "Shipment", "ShipmentEvent", "StockAdjustment", "Ticket",
    "TicketMessage", "User", "WebhookEvent",
]
