"""`make bench`: load the shop under gunicorn on PostgreSQL + Redis, beside a bare Flask
endpoint under the same gunicorn settings, with wrk, and print requests/s and p50/p99 latency.

Targets (2-core machine): cached product page and listing >= 70 % of the bare endpoint's
requests/s; search p99 <= 50 ms on the demo catalog and <= 100 ms with 100,000 products;
checkout >= 150 orders/s with no oversell. Figures, not a pass/fail test.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.request import urlopen

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipelines.verify import lua_rotating_get, parse_wrk  # noqa: E402

PG_ADMIN_URL = os.environ.get("BENCH_POSTGRES_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
# Its own database, Redis db and ports, so two benches on one machine do not disturb each other.
DATABASE = os.environ.get("BENCH_DATABASE", "shopstack_bench")
APP_PORT = int(os.environ.get("BENCH_PORT", "18000"))
HELLO_PORT = APP_PORT + 1
SECRET_KEY = "bench-secret"
SEARCH_TERMS = ["pan", "knife", "tent", "bamboo", "steel", "lamp", "boots", "running", "wool", "copper",
                "backpack", "ceramic", "guide", "puzzle", "speaker", "yoga", "notebook", "candle", "oak",
                "travel", "kite", "grinder", "linen", "cork", "headphones", "recycled", "stove", "atlas"]


def say(message: str) -> None:
    print(f"[bench] {message}", flush=True)


def database_url() -> str:
    return str(sa.engine.make_url(PG_ADMIN_URL).set(database=DATABASE).render_as_string(hide_password=False))


def app_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "FLASK_APP": "shop", "DATABASE_URL": database_url(), "REDIS_URL": REDIS_URL,
            "SECRET_KEY": SECRET_KEY, "PAYMENT_WEBHOOK_SECRETS": "whsec_bench", "SHOP_RELEASE": "bench",
            "ORDER_RESERVATION_SECONDS": "3600", "RATE_LIMIT_CART_CREATION_PER_ADDRESS": "100000 per hour", **extra}


def recreate_database() -> None:
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
        connection.execute(sa.text(f'CREATE DATABASE "{DATABASE}"'))
        # As the RDS parameter group in infra/ sets it: SSD storage, so index reads are cheap.
        connection.execute(sa.text(f'ALTER DATABASE "{DATABASE}" SET random_page_cost = 1.1'))
    admin.dispose()
    subprocess.run([sys.executable, "-m", "flask", "db", "upgrade"], env=app_env(), check=True,
                   capture_output=True)
    subprocess.run([sys.executable, "-m", "flask", "seed-demo"], env=app_env(), check=True)
    import redis

    with redis.Redis.from_url(REDIS_URL) as client:
        client.flushdb()


@contextmanager
def gunicorn(app_spec: str, port: int, cwd: Path, env: dict[str, str]):
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--config", "python:shop.gunicorn_conf", app_spec],
        cwd=cwd, env={**env, "HOST": "127.0.0.1", "PORT": str(port)},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )
    try:
        # Workers import the whole shop; on a busy 2-core machine that alone can take half a minute.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                # urlopen's other schemes (bandit B310) cannot occur: the URLs are built here, http only.
                urlopen(f"http://127.0.0.1:{port}/healthz" if "shop" in app_spec else  # nosec B310
                        f"http://127.0.0.1:{port}/hello", timeout=1).read()
                break
            except OSError:
                if process.poll() is not None:
                    raise RuntimeError(process.stderr.read().decode()[-2000:]) from None
                time.sleep(0.3)
        else:
            raise RuntimeError(f"{app_spec} did not start on port {port}")
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def wrk(url: str, duration: int, connections: int, script: str | None = None) -> dict:
    command = ["wrk", "--latency", "-t2", f"-c{connections}", f"-d{duration}s", url]
    if script:
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
            handle.write(script)
        command[1:1] = ["-s", handle.name]
    figures = parse_wrk(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
    return {**figures, "requests": int(figures["requests"]), "non_2xx": int(figures["non_2xx"])}


def lua_post_each(requests_: list[tuple[str, dict, str]]) -> str:
    """A POST per line; thread i takes lines i, i+T, ... so no two requests share a line."""
    rows = ",".join(
        "{" + ",".join([json.dumps(path), json.dumps(json.dumps(body)), json.dumps(token)]) + "}"
        for path, body, token in requests_
    )
    return f"""
local rows = {{{rows}}}
local threads = {{}}
local counter = 1
function setup(thread)
  thread:set("offset", counter)
  counter = counter + 1
  table.insert(threads, thread)
end
function init(args)
  step = 2
  index = offset
end
request = function()
  local row = rows[((index - 1) % #rows) + 1]
  index = index + step
  local headers = {{["Content-Type"] = "application/json"}}
  if row[3] ~= "" then headers["Authorization"] = "Bearer " .. row[3] end
  return wrk.format("POST", row[1], headers, row[2])
end
"""


def in_stock_products() -> list[int]:
    engine = sa.create_engine(database_url())
    with engine.connect() as connection:
        ids = connection.execute(sa.text("SELECT id FROM products WHERE stock >= 200 ORDER BY id")).scalars().all()
    engine.dispose()
    return list(ids)


def search_paths(rng: random.Random, count: int = 400) -> list[str]:
    paths = []
    for _ in range(count):
        words = rng.sample(SEARCH_TERMS, rng.choice([1, 1, 2]))
        paths.append(f"/api/v1/products?q={'+'.join(words)}&page={rng.randint(1, 3)}")
    return paths


def prepare_carts(count: int, lines_per_cart: int, hot_stock: int, hot_share: float) -> tuple[list, int]:
    """Customers with carts ready for checkout, written straight to the database.

    Every cart holds ordinary products with ample stock; `hot_share` of them also hold one unit
    of a 'hot' product with only `hot_stock` units, so the run also proves there is no oversell.
    """
    sys.path.insert(0, str(ROOT / "app"))
    os.environ.update(app_env())
    from shop import create_app
    from shop.accounts.service import issue_token
    from shop.cart.models import Cart, CartLine
    from shop.catalog.models import Product
    from shop.extensions import db
    from shop.models import User

    app = create_app()
    rng = random.Random(7)
    with app.app_context():
        products = db.session.scalars(sa.select(Product).order_by(Product.id).limit(200)).all()
        for product in products:
            product.stock = 1_000_000
        hot = products[0]
        hot.stock = hot_stock
        customers = [User(email=f"bench{n}@shopstack.dev", name=f"Bench {n}", role="customer",
                          password_hash="!") for n in range(50)]
        db.session.add_all(customers)
        db.session.flush()
        rows = []
        for number in range(count):
            customer = customers[number % len(customers)]
            cart = Cart(id=secrets.token_hex(16), customer_id=customer.id)
            chosen = rng.sample(products[1:], lines_per_cart)
            cart.lines = [CartLine(product_id=p.id, quantity=rng.randint(1, 3)) for p in chosen]
            if rng.random() < hot_share:
                cart.lines.append(CartLine(product_id=hot.id, quantity=1))
            db.session.add(cart)
            rows.append((cart.id, issue_token(customer, SECRET_KEY)))
        db.session.commit()
        hot_id = hot.id
        db.engine.dispose()
    return rows, hot_id


def check_oversell(hot_id: int, hot_stock: int) -> dict:
    engine = sa.create_engine(database_url())
    with engine.connect() as connection:
        left = connection.execute(sa.text("SELECT stock FROM products WHERE id = :id"), {"id": hot_id}).scalar()
        sold = connection.execute(sa.text(
            "SELECT coalesce(sum(l.quantity), 0) FROM order_lines l JOIN orders o ON o.id = l.order_id "
            "WHERE l.product_id = :id AND o.status <> 'completed'"), {"id": hot_id}).scalar()
        orders = connection.execute(sa.text("SELECT count(*) FROM orders WHERE status = 'pending_payment'")).scalar()
    engine.dispose()
    return {"hot_stock_before": hot_stock, "hot_sold": int(sold), "hot_left": int(left), "orders": int(orders),
            "oversold": int(sold) + int(left) != hot_stock or int(left) < 0}


def seed_large_catalog(total: int) -> None:
    say(f"Seeding the catalog up to {total:,} products")
    engine = sa.create_engine(database_url())
    rng = random.Random(11)
    from shop.seed import ADJECTIVES, CATEGORIES, FEATURES, MATERIALS

    with engine.begin() as connection:
        have = connection.execute(sa.text("SELECT count(*) FROM products")).scalar()
        categories = connection.execute(sa.text("SELECT id, name FROM categories")).all()
        batch = []
        for number in range(have, total):
            category_id, category = rng.choice(categories)
            nouns = CATEGORIES[category][0]
            name = f"{rng.choice(ADJECTIVES)} {rng.choice(MATERIALS)} {rng.choice(nouns)} {number}"
            batch.append({"sku": f"BULK-{number:07d}", "name": name, "category_id": category_id,
                          "description": f"The {name}: {', '.join(rng.sample(FEATURES, 3))}.",
                          "price_cents": rng.randrange(300, 30000), "currency": "EUR", "stock": 50})
            if len(batch) == 10_000 or number == total - 1:
                connection.execute(sa.text(
                    "INSERT INTO products (sku, name, category_id, description, price_cents, currency, stock, "
                    "created_at, updated_at) VALUES (:sku, :name, :category_id, :description, :price_cents, "
                    ":currency, :stock, now(), now())"), batch)
                batch = []
                say(f"  {number + 1:,} products")
        connection.execute(sa.text("ANALYZE products"))
    engine.dispose()
    import redis

    # Rows written behind the app's back: drop its cached listings so the search is real.
    with redis.Redis.from_url(REDIS_URL) as client:
        client.flushdb()


def search_large_catalog(total: int, shop_url: str, duration: int, connections: int, rng: random.Random,
                         results: list[tuple[str, dict]]) -> None:
    if not total:
        return
    seed_large_catalog(total)
    say(f"search on {total:,} products")
    results.append((f"search, {total:,} products",
                    wrk(shop_url + "/", duration, connections, lua_rotating_get(search_paths(rng)))))


def report(rows: list[tuple[str, dict]], hello_rps: float) -> None:
    print()
    print(f"{'scenario':<34} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8} {'vs bare':>8}")
    print("-" * 80)
    for name, figures in rows:
        ratio = f"{figures['rps'] / hello_rps * 100:6.1f}%"
        print(f"{name:<34} {figures['rps']:>9.1f} {figures['p50_ms']:>8.2f} {figures['p99_ms']:>8.2f} "
              f"{figures['non_2xx']:>8} {ratio:>8}")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per scenario")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--large-catalog", type=int, default=100_000,
                        help="products for the second search run (0 skips)")
    parser.add_argument("--only", choices=["search"], help="run only these scenarios (and the bare endpoint)")
    options = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install wrk")
    subprocess.run(["bash", str(ROOT / "pipelines" / "services-up.sh")], check=True)
    say(f"Preparing database {DATABASE} (migrate + demo catalog)")
    recreate_database()
    env = app_env()
    rng = random.Random(3)
    results: list[tuple[str, dict]] = []
    with gunicorn("bench_hello:create_app()", HELLO_PORT, ROOT / "pipelines", env) as hello_url, \
         gunicorn("shop:create_app()", APP_PORT, ROOT, env) as shop_url:
        d, c = options.duration, options.connections
        say("bare Flask endpoint")
        hello = wrk(f"{hello_url}/hello", d, c)
        results.append(("bare flask /hello", hello))
        listing = [f"/api/v1/products?page={page}" for page in range(1, 6)]
        pages = [f"/api/v1/products/{product_id}" for product_id in range(1, 51)]
        for path in listing + pages:
            urlopen(shop_url + path).read()  # nosec B310
        say("cached product listing")
        results.append(("product listing (cached)", wrk(shop_url + "/", d, c, lua_rotating_get(listing))))
        say("cached product page")
        results.append(("product page (cached)", wrk(shop_url + "/", d, c, lua_rotating_get(pages))))
        say("search on the demo catalog")
        results.append(("search, 540 products", wrk(shop_url + "/", d, c, lua_rotating_get(search_paths(rng)))))
        if options.only == "search":
            search_large_catalog(options.large_catalog, shop_url, d, c, rng, results)
            report(results, hello["rps"])
            return
        say("add to cart")
        carts = [json.loads(urlopen(shop_url + "/api/v1/carts", data=b"").read())["id"]  # nosec B310
                 for _ in range(200)]
        in_stock = in_stock_products()
        adds = [(f"/api/v1/carts/{cart}/items", {"product_id": rng.choice(in_stock), "quantity": 1}, "")
                for cart in carts]
        results.append(("add to cart", wrk(shop_url + "/", d, c, lua_post_each(adds))))
        say("checkout (preparing carts)")
        hot_stock = 300
        ready, hot_id = prepare_carts(count=600 * d, lines_per_cart=3, hot_stock=hot_stock, hot_share=0.25)
        address = {"name": "Bench", "line1": "1 Load Street", "city": "Lyon", "postal_code": "69001", "country": "FR"}
        checkouts = [("/api/v1/orders", {"cart_id": cart_id, "shipping_address": address}, token)
                     for cart_id, token in ready]
        say("checkout")
        checkout = wrk(shop_url + "/", d, c, lua_post_each(checkouts))
        oversell = check_oversell(hot_id, hot_stock)
        checkout["orders_per_s"] = oversell["orders"] / d
        results.append(("checkout", checkout))
        search_large_catalog(options.large_catalog, shop_url, d, c, rng, results)
    report(results, hello["rps"])
    print(f"checkout: {oversell['orders']} orders in {d}s = {checkout['orders_per_s']:.1f} orders/s; "
          f"{checkout['non_2xx']} refused (sold out or carts used up)")
    print(f"no oversell: hot product had {hot_stock}, sold {oversell['hot_sold']}, left {oversell['hot_left']}"
          f" -> {'OVERSOLD' if oversell['oversold'] else 'ok'}")


if __name__ == "__main__":
    main()
