"""A deterministic demo catalog: the same products, stock and order history on every machine."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, insert, select
from werkzeug.security import generate_password_hash

from .cart.models import Coupon, Promotion
from .cart.pricing import PricedItem, PricingPolicy, price
from .catalog.images import give_images
from .catalog.models import Category, Product
from .columns import utcnow
from .extensions import db
from .models import Order, OrderLine, OrderTransition, User

DEMO_STAFF = ("staff@shopstack.dev", "staff-demo-password")
DEMO_CUSTOMER = ("customer@shopstack.dev", "customer-demo-password")

# Category -> (nouns, price range in cents). Products are adjective x material x noun.
CATEGORIES = {
    "Kitchen": (["Chef Knife", "Frying Pan", "Cutting Board", "Coffee Grinder", "Teapot", "Mixing Bowl"], (900, 12900)),
    "Garden": (["Watering Can", "Pruning Shears", "Planter", "Garden Hose", "Trowel", "Seed Tray"], (500, 8900)),
    "Outdoor": (["Tent", "Sleeping Bag", "Hiking Backpack", "Camping Stove", "Headlamp", "Water Bottle"],
                (1200, 34900)),
    "Books": (["Cookbook", "Travel Guide", "Novel", "Field Guide", "Sketchbook", "Atlas"], (700, 4900)),
    "Electronics": (["Headphones", "Bluetooth Speaker", "Charger", "Keyboard", "Webcam", "Power Bank"], (1500, 29900)),
    "Toys": (["Puzzle", "Building Blocks", "Kite", "Board Game", "Yo-yo", "Plush Bear"], (600, 6900)),
    "Home": (["Lamp", "Throw Blanket", "Cushion", "Wall Clock", "Vase", "Candle"], (800, 15900)),
    "Sports": (["Yoga Mat", "Running Shoes", "Tennis Racket", "Jump Rope", "Dumbbell", "Cycling Gloves"], (700, 19900)),
    "Office": (["Notebook", "Fountain Pen", "Desk Organizer", "Stapler", "Desk Lamp", "Paper Tray"], (300, 9900)),
}
ADJECTIVES = ["Classic", "Compact", "Deluxe", "Eco", "Rugged", "Lightweight", "Vintage", "Modern",
              "Folding", "Premium", "Travel", "Handmade"]
MATERIALS = ["Bamboo", "Steel", "Cotton", "Oak", "Ceramic", "Recycled", "Copper", "Wool", "Linen", "Cork"]
FEATURES = ["easy to clean", "built to last for years", "gift ready", "made from sustainable materials",
            "loved by beginners and experts alike", "compact enough to carry anywhere", "water resistant",
            "designed in a small workshop", "backed by a two-year warranty", "perfect for everyday use"]


def _description(rng: random.Random, name: str, category: str) -> str:
    features = rng.sample(FEATURES, 3)
    return (f"The {name} is a {category.lower()} favourite: {features[0]}, {features[1]}, "
            f"and {features[2]}.")


def seed_demo(products_per_category: int = 60, orders: int = 1500,
              progress: Callable[[str], None] = print, seed: int = 42) -> bool:
    """Seed the demo shop. Returns False (and changes nothing) when a catalog already exists."""
    if db.session.scalar(select(func.count()).select_from(Product)):
        progress("The catalog already has products; keeping the existing data.")
        return False
    rng = random.Random(seed)
    currency = current_app.config["SHOP_CURRENCY"]
    staff = User(email=DEMO_STAFF[0], name="Demo Staff", role="staff",
                 password_hash=generate_password_hash(DEMO_STAFF[1]))
    customer = User(email=DEMO_CUSTOMER[0], name="Demo Customer", role="customer",
                    password_hash=generate_password_hash(DEMO_CUSTOMER[1]))
    db.session.add_all([staff, customer])

    categories = {name: Category(slug=name.lower(), name=name) for name in CATEGORIES}
    db.session.add_all(categories.values())
    db.session.flush()
    progress(f"Seeding {len(CATEGORIES) * products_per_category} products in {len(CATEGORIES)} categories")
    rows = []
    for category_name, (nouns, (low, high)) in CATEGORIES.items():
        seen: set[str] = set()
        while len(seen) < products_per_category:
            name = f"{rng.choice(ADJECTIVES)} {rng.choice(MATERIALS)} {rng.choice(nouns)}"
            if name in seen:
                continue
            seen.add(name)
            rows.append({
                "sku": f"{category_name[:3].upper()}-{len(rows) + 1:05d}",
                "name": name,
                "description": _description(rng, name, category_name),
                "category_id": categories[category_name].id,
                "price_cents": rng.randrange(low, high, 100) - 1,
                "currency": currency,
                "stock": rng.choice([0, 3, 8, 15, 40, 120, 250]),
            })
    db.session.execute(insert(Product), rows)
    products = list(db.session.execute(select(Product.id, Product.category_id, Product.price_cents,
                                              Product.name)).all())
    names = {category.id: name for name, category in categories.items()}
    give_images([(product.id, names[product.category_id], product.name) for product in products])
    _seed_order_history(rng, customer, products, orders, currency, progress)
    _seed_promotions(categories)
    db.session.commit()
    progress("Demo catalog ready.")
    return True


def _seed_order_history(rng, customer, products, count, currency, progress) -> None:
    """Completed orders over the last 90 days, with products that tend to sell together."""
    progress(f"Seeding {count} past orders")
    by_category: dict[int, list] = {}
    for product in products:
        by_category.setdefault(product.category_id, []).append(product)
    # Each product has a few 'companions' bought with it more often than chance.
    companions = {p.id: rng.sample(by_category[p.category_id], 3) for p in products}
    popular = rng.sample(products, len(products) // 5)
    now = utcnow()
    history_policy = PricingPolicy(currency, tax_rate_bps=0, shipping_flat_cents=0)
    for number in range(count):
        first = rng.choice(popular) if rng.random() < 0.6 else rng.choice(products)
        basket = {first.id: first}
        for companion in companions[first.id]:
            if rng.random() < 0.45 and companion.id != first.id:
                basket[companion.id] = companion
        if rng.random() < 0.3:
            extra = rng.choice(products)
            basket[extra.id] = extra
        placed = now - timedelta(days=rng.randrange(0, 90), minutes=rng.randrange(0, 1440))
        lines = [(p, rng.choice([1, 1, 1, 2, 3])) for p in basket.values()]
        # Past orders are priced by the engine like any order, at list price: no promotions, shipping or tax.
        quote = price([PricedItem(p.id, p.name, p.category_id, p.price_cents, quantity) for p, quantity in lines],
                      [], None, history_policy, placed)
        order = Order(customer_id=customer.id, status="completed", currency=currency,
                      subtotal_cents=quote.subtotal_cents, discount_cents=quote.discount_cents,
                      shipping_cents=quote.shipping_cents, tax_cents=quote.tax_cents,
                      total_cents=quote.total_cents, pricing=quote.to_dict(), created_at=placed, updated_at=placed,
                      shipping_address={"name": "Demo Customer", "line1": "1 Demo Street", "city": "Lyon",
                                        "postal_code": "69001", "country": "FR"})
        order.lines = [OrderLine(product_id=p.id, product_name=p.name, unit_price_cents=p.price_cents,
                                 quantity=quantity, total_cents=p.price_cents * quantity)
                       for p, quantity in lines]
        order.transitions = [OrderTransition(from_status=None, to_status="completed", cause="demo history",
                                             at=placed)]
        db.session.add(order)
        if number % 500 == 499:
            db.session.flush()
            progress(f"  {number + 1}/{count} orders")


def _seed_promotions(categories) -> None:
    db.session.add_all([
        Promotion(name="10% off Books", kind="percent", category_id=categories["Books"].id, percent=10),
        Promotion(name="Buy 2 Candles, get 1 free", kind="buy_x_get_y", category_id=categories["Home"].id,
                  buy_quantity=2, free_quantity=1),
        Promotion(name="Free shipping over 50.00", kind="free_shipping", threshold_cents=5000),
        Coupon(code="WELCOME10", kind="percent", percent=10, min_subtotal_cents=2000),
        Coupon(code="FIVEOFF", kind="fixed", amount_cents=500, min_subtotal_cents=2500, usage_limit=1000),
    ])
