"""`make bench`: load the shop under gunicorn on PostgreSQL + Redis, beside a bare Flask
endpoint under the same gunicorn settings, with wrk, and print requests/s and p50/p99 latency.

Every scenario runs in rounds that alternate with the bare endpoint (bare, scenario, bare, ...), and
its share of bare is the median of the rounds' shares: a busy machine slows both alike. The mixed
load is shaped like Online Boutique's load generator (browse 10, view cart 3, add to cart 2, home 1,
checkout 1) and reports the listing cache's hit rate, the requests/s it sustains at p99 <= 100 ms
and the workers' resident memory. Figures, not a pass/fail test; issue 12 holds the targets.

Shaped like production: the shop has a broker (a RabbitMQ vhost of the bench's own), and the event
consumers and the celery worker run beside it as on a worker host, so a checkout only writes its
events to the outbox; their resident memory is reported too.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.request import urlopen

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipelines.bench_events import delete_vhost, recreate_vhost  # noqa: E402
from pipelines.verify import latency_missing, lua_rotating_get, parse_wrk  # noqa: E402

# Online Boutique's load generator's weights (its locustfile's tasks), in the shop's requests.
MIXED_WEIGHTS = {"browse": 10, "view_cart": 3, "add_to_cart": 2, "home": 1, "checkout": 1}
# The latency objective the mixed load's capacity is measured at.
CAPACITY_P99_MS = 100.0

PG_ADMIN_URL = os.environ.get("BENCH_POSTGRES_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
# Its own database, Redis db and ports, so two benches on one machine do not disturb each other.
DATABASE = os.environ.get("BENCH_DATABASE", "shopstack_bench")
APP_PORT = int(os.environ.get("BENCH_PORT", "18000"))
HELLO_PORT = APP_PORT + 1
# The broker's vhost is named after the database, so it is the bench's own too.
BROKER_URL = f"amqp://{os.environ.get('BENCH_BROKER', 'guest:guest@127.0.0.1:5672')}/{DATABASE}"
# What a worker host runs (playbooks/roles/app_worker): the event consumers and the celery worker
# with its beat, each with the processes the role gives them.
EVENT_WORKER = ["-m", "shop.events.worker", "--processes", "2"]
CELERY_WORKER = ["-m", "celery", "--app", "shop.tasks:celery_app", "worker", "--loglevel", "WARNING",
                 "--concurrency", "2", "--beat"]
SECRET_KEY = "bench-secret"
# Where every bench order ships, and the guest carts the add-to-cart scenario rotates over.
ADDRESS = {"name": "Bench", "line1": "1 Load Street", "city": "Lyon", "postal_code": "69001", "country": "FR"}
GUEST_CARTS = 200
SEARCH_TERMS = ["pan", "knife", "tent", "bamboo", "steel", "lamp", "boots", "running", "wool", "copper",
                "backpack", "ceramic", "guide", "puzzle", "speaker", "yoga", "notebook", "candle", "oak",
                "travel", "kite", "grinder", "linen", "cork", "headphones", "recycled", "stove", "atlas"]


def say(message: str) -> None:
    print(f"[bench] {message}", flush=True)


def database_url() -> str:
    return str(sa.engine.make_url(PG_ADMIN_URL).set(database=DATABASE).render_as_string(hide_password=False))


def app_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "FLASK_APP": "shop", "DATABASE_URL": database_url(), "REDIS_URL": REDIS_URL,
            "BROKER_URL": BROKER_URL,
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


@dataclass(frozen=True)
class Server:
    url: str
    pid: int


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
        yield Server(f"http://127.0.0.1:{port}", process.pid)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


@dataclass(frozen=True)
class WorkerHost:
    """The worker host's processes: the event consumers' supervisor and the celery worker."""

    events_pid: int
    celery_pid: int


@contextmanager
def worker_host(env: dict[str, str]):
    """The event consumers and the celery worker, running until the bench ends; ready once every
    consumer's queue has its consumers and the celery worker answers a ping."""
    schedule = tempfile.mkdtemp(prefix="bench-beat-")
    processes = [subprocess.Popen([sys.executable, *command], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, start_new_session=True)
                 for command in (EVENT_WORKER, [*CELERY_WORKER, "--schedule", f"{schedule}/beat"])]
    try:
        for ready in ([sys.executable, *EVENT_WORKER[:2], "--check"],
                      [sys.executable, *CELERY_WORKER[:4], "inspect", "ping", "--timeout", "2"]):
            deadline = time.monotonic() + 120
            while subprocess.run(ready, cwd=ROOT, env=env, capture_output=True, check=False).returncode:
                if time.monotonic() > deadline or any(process.poll() is not None for process in processes):
                    raise RuntimeError(f"the worker host did not start: {' '.join(ready[1:])} fails")
                time.sleep(0.5)
        yield WorkerHost(processes[0].pid, processes[1].pid)
    finally:
        for process in processes:
            os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            process.wait(timeout=60)
        shutil.rmtree(schedule, ignore_errors=True)


def wrk(url: str, duration: int, connections: int, script: str | None = None) -> dict:
    # A slow answer is waited for (wrk's own 2 s would count a slow checkout as never answered).
    # wrk wants at least as many connections as threads.
    command = ["wrk", "--latency", f"-t{min(2, connections)}", f"-c{connections}", f"-d{duration}s",
               "--timeout", "10s", url]
    if script:
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
            handle.write(script)
        command[1:1] = ["-s", handle.name]
    figures = parse_wrk(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
    return {**figures, "requests": int(figures["requests"]), "non_2xx": int(figures["non_2xx"])}


def latency(figures: dict, percentile: str) -> str:
    """A run's percentile in ms, or why it has none."""
    return latency_missing(figures) or f"{percentile} {figures[f'{percentile}_ms']:.1f} ms"


def lua_requests(rows: list[tuple[str, str, dict | None, str]]) -> str:
    """A request per row (method, path, JSON body or None, bearer token or ""); thread i takes rows
    i, i+T, ... so no two requests share a row."""
    lines = ",".join(
        "{" + ",".join([json.dumps(method), json.dumps(path), json.dumps(json.dumps(body) if body is not None else ""),
                        json.dumps(token)]) + "}"
        for method, path, body, token in rows
    )
    return f"""
local rows = {{{lines}}}
local counter = 1
function setup(thread)
  thread:set("offset", counter)
  counter = counter + 1
end
function init(args)
  step = 2
  index = offset
end
request = function()
  local row = rows[((index - 1) % #rows) + 1]
  index = index + step
  local headers = {{}}
  if row[3] ~= "" then headers["Content-Type"] = "application/json" end
  if row[4] ~= "" then headers["Authorization"] = "Bearer " .. row[4] end
  if row[3] == "" then return wrk.format(row[1], row[2], headers) end
  return wrk.format(row[1], row[2], headers, row[3])
end
"""


def lua_post_each(requests_: list[tuple[str, dict, str]]) -> str:
    return lua_requests([("POST", path, body, token) for path, body, token in requests_])


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


# A price cap above every product's price (the bench's cost at most 300.00), a different one for every
# search: a listing is cached under its whole query, so no two of these searches share an answer.
UNCACHED_PRICE_CAP = 10_000_000
UNCACHED_SEARCHES_PER_ROUND = 20_000


def uncached_search_paths(rng: random.Random, round_number: int) -> list[str]:
    first = UNCACHED_PRICE_CAP + round_number * UNCACHED_SEARCHES_PER_ROUND
    return [f"{path}&max_price_cents={first + number}"
            for number, path in enumerate(search_paths(rng, UNCACHED_SEARCHES_PER_ROUND))]


def prepare_carts(count: int, lines_per_cart: int, hot_stock: int, hot_share: float,
                  batch: str = "checkout") -> tuple[list, int]:
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
        hot.stock = hot_stock if hot_share else 1_000_000
        customers = [User(email=f"bench-{batch}-{n}@shopstack.dev", name=f"Bench {n}", role="customer",
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
    # What autovacuum does after a bulk import on RDS (this machine's PostgreSQL may run without it):
    # each insert's trigger rewrote its words' rows in search_words, leaving ~100,000 dead versions of
    # ~100 live rows for the "did you mean" vocabulary read to wade through.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("VACUUM ANALYZE products, search_words"))
    engine.dispose()
    import redis

    # Rows written behind the app's back: drop its cached listings so the search is real.
    with redis.Redis.from_url(REDIS_URL) as client:
        client.flushdb()


@dataclass
class Scenario:
    """A scenario's rounds, each measured right after a round of the bare endpoint."""

    name: str
    rounds: list[dict]
    shares: list[float]
    extra: dict

    def median(self, figure: str) -> float | None:
        """The figure's median over the rounds; a latency over the rounds that measured one (a round
        whose requests all timed out has none), None if no round did."""
        measured = [round_[figure] for round_ in self.rounds if figure == "rps" or not latency_missing(round_)]
        return statistics.median(measured) if measured else None

    def latency_gaps(self) -> list[str]:
        """Why rounds have no latency, one line per such round."""
        return [f"round {number}: {reason}" for number, round_ in enumerate(self.rounds, 1)
                if (reason := latency_missing(round_))]


class Bench:
    def __init__(self, hello_url: str, shop: Server, duration: int, connections: int, rounds: int,
                 workers: WorkerHost | None = None):
        self.hello_url, self.shop, self.url, self.workers = hello_url, shop, shop.url, workers
        self.duration, self.connections, self.rounds = duration, connections, rounds
        self.scenarios: list[Scenario] = []
        self.bare: list[dict] = []

    def alternate(self, name: str, script: str | Callable[[int], str], connections: int | None = None,
                  after_round: Callable[[dict], None] | None = None) -> Scenario:
        """Rounds of bare then `script` (or `script(round)`, a fresh script per round)."""
        say(name)
        scenario = Scenario(name, [], [], {})
        for number in range(self.rounds):
            bare = wrk(f"{self.hello_url}/hello", self.duration, connections or self.connections)
            self.bare.append(bare)
            figures = wrk(self.url + "/", self.duration, connections or self.connections,
                          script(number) if callable(script) else script)
            if after_round:
                after_round(figures)
            scenario.rounds.append(figures)
            scenario.shares.append(figures["rps"] / bare["rps"])
            say(f"  round {number + 1}: {figures['rps']:.0f} req/s, {latency(figures, 'p99')}, "
                f"bare {bare['rps']:.0f} req/s, share {figures['rps'] / bare['rps'] * 100:.1f} %")
        self.scenarios.append(scenario)
        return scenario


def cache_lookups(shop_url: str) -> dict[tuple[str, str], float]:
    """The catalog cache's lookups so far, summed over the workers, by (kind, result)."""
    from prometheus_client.parser import text_string_to_metric_families

    text = urlopen(shop_url + "/metrics").read().decode()  # nosec B310
    return {(sample.labels["kind"], sample.labels["result"]): sample.value
            for family in text_string_to_metric_families(text) if family.name == "shop_catalog_cache_lookups"
            for sample in family.samples if sample.name.endswith("_total")}


def hit_rate(before: dict, after: dict, kind: str) -> tuple[float, int, int]:
    hits = after.get((kind, "hit"), 0) - before.get((kind, "hit"), 0)
    misses = after.get((kind, "miss"), 0) - before.get((kind, "miss"), 0)
    return (hits / (hits + misses) if hits + misses else 0.0), int(hits), int(misses)


def resident_kib(pid: int | str) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))


def children(pid: int | str) -> list[str]:
    return Path(f"/proc/{pid}/task/{pid}/children").read_text().split()


def worker_memory(master_pid: int) -> list[int]:
    """Resident memory (KiB) of each of the gunicorn master's workers."""
    return [resident_kib(pid) for pid in children(master_pid)]


def process_tree_memory(pid: int) -> list[int]:
    """Resident memory (KiB) of a process, then of each of its children (a supervisor's workers)."""
    return [resident_kib(pid), *(resident_kib(child) for child in children(pid))]


def search_large_catalog(total: int, bench: Bench, rng: random.Random) -> None:
    if not total:
        return
    seed_large_catalog(total)
    bench.alternate(f"search, {total:,} products", lua_rotating_get(search_paths(rng)))
    # What a search itself costs: one at a time (under the bench's connections a latency cannot fall
    # under connections / throughput, Little's law), and none answered from the cache.
    bench.alternate(f"search, {total:,} products, uncached, one connection",
                    lambda number: lua_rotating_get(uncached_search_paths(rng, number)), connections=1)


def mixed_rows(rng: random.Random, count: int, listing: list[str], pages: list[str], carts: list[str],
               in_stock: list[int], checkouts: list[tuple[str, str]]) -> list[tuple[str, str, dict | None, str]]:
    """`count` requests drawn by MIXED_WEIGHTS; each checkout takes a cart of its own."""
    kinds = rng.choices(list(MIXED_WEIGHTS), weights=list(MIXED_WEIGHTS.values()), k=count)
    ready = iter(checkouts)
    rows: list[tuple[str, str, dict | None, str]] = []
    for kind in kinds:
        if kind == "browse":
            rows.append(("GET", rng.choice(pages + listing), None, ""))
        elif kind == "home":
            rows.append(("GET", listing[0], None, ""))
        elif kind == "view_cart":
            rows.append(("GET", f"/api/v1/carts/{rng.choice(carts)}", None, ""))
        elif kind == "add_to_cart":
            rows.append(("POST", f"/api/v1/carts/{rng.choice(carts)}/items",
                         {"product_id": rng.choice(in_stock), "quantity": 1}, ""))
        elif (cart := next(ready, None)) is not None:
            cart_id, token = cart
            rows.append(("POST", "/api/v1/orders", {"cart_id": cart_id, "shipping_address": ADDRESS}, token))
    return rows


def mixed_load(bench: Bench, rng: random.Random, listing: list[str], pages: list[str], carts: list[str],
               in_stock: list[int], connection_steps: list[int]) -> None:
    """The mixed load: its hit rates and memory at the bench's connections, then its capacity (the
    most requests/s at p99 <= CAPACITY_P99_MS) over `connection_steps`."""
    # A checkout per 17 requests: carts for a round at half the bare endpoint's speed (the rows repeat,
    # and a used cart is refused, should the shop go faster).
    bare = bench.bare[-1] if bench.bare else wrk(f"{bench.hello_url}/hello", bench.duration, bench.connections)
    bare_rps = bare["rps"]
    per_round = int(bare_rps * bench.duration / 2 / sum(MIXED_WEIGHTS.values())) + 100
    steps = len(connection_steps) + bench.rounds
    say(f"mixed load (preparing {per_round * steps} carts)")
    ready, _ = prepare_carts(count=per_round * steps, lines_per_cart=3, hot_stock=0, hot_share=0.0, batch="mixed")
    batches = [ready[number * per_round:(number + 1) * per_round] for number in range(steps)]

    def script(number: int) -> str:
        return lua_requests(mixed_rows(rng, per_round * sum(MIXED_WEIGHTS.values()), listing, pages, carts,
                                       in_stock, batches[number]))

    before = cache_lookups(bench.url)
    scenario = bench.alternate("mixed load (Online Boutique's weights)", script)
    after = cache_lookups(bench.url)
    scenario.extra["listing_hit_rate"] = hit_rate(before, after, "products")
    scenario.extra["page_hit_rate"] = hit_rate(before, after, "product")
    scenario.extra["worker_rss_kib"] = worker_memory(bench.shop.pid)
    if bench.workers:
        scenario.extra["event_worker_rss_kib"] = process_tree_memory(bench.workers.events_pid)
        scenario.extra["celery_worker_rss_kib"] = process_tree_memory(bench.workers.celery_pid)
    capacity = []
    for offset, connections in enumerate(connection_steps):
        figures = wrk(bench.url + "/", bench.duration, connections, script(bench.rounds + offset))
        say(f"  {connections} connections: {figures['rps']:.0f} req/s, {latency(figures, 'p99')}")
        capacity.append((connections, figures))
    scenario.extra["capacity"] = capacity


def capacity(steps: list[tuple[int, dict]]) -> tuple[int, dict] | None:
    """The step (connections, figures) with the most requests/s at p99 <= CAPACITY_P99_MS, if any."""
    within = [(c, f) for c, f in steps if not latency_missing(f) and f["p99_ms"] <= CAPACITY_P99_MS and not f["errors"]]
    return max(within, key=lambda step: step[1]["rps"]) if within else None


def capacity_report(bench: Bench, release: str, at: str) -> dict:
    """The run's figures for build/capacity/bench/<release>.json, beside the verify step's reports:
    each scenario's medians and share of bare, and one web host's capacity at its latency objective."""
    scenarios = {}
    for scenario in bench.scenarios:
        figures = {"rps": scenario.median("rps"), "p50_ms": scenario.median("p50_ms"),
                   "p99_ms": scenario.median("p99_ms"), "share_of_bare": statistics.median(scenario.shares),
                   "rounds": len(scenario.rounds)}
        if "capacity" in scenario.extra:
            best = capacity(scenario.extra["capacity"])
            figures |= {"listing_hit_rate": scenario.extra["listing_hit_rate"][0],
                        "worker_rss_mib": [round(kib / 1024) for kib in scenario.extra["worker_rss_kib"]],
                        "capacity_rps_at_p99_objective": best[1]["rps"] if best else None,
                        "capacity_connections": best[0] if best else None}
        scenarios[scenario.name] = figures
    return {"release": release, "target": "bench", "at": at, "cores": os.cpu_count(),
            "bare_rps": statistics.median(r["rps"] for r in bench.bare) if bench.bare else None,
            "p99_objective_ms": CAPACITY_P99_MS, "scenarios": scenarios}


def write_capacity_report(bench: Bench) -> Path:
    from pipelines import build_image

    release = build_image.default_release()
    report_ = capacity_report(bench, release, datetime.now(UTC).isoformat(timespec="seconds"))
    path = ROOT / "build" / "capacity" / "bench" / f"{release}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report_, indent=2, sort_keys=True) + "\n")
    return path


def report(bench: Bench) -> None:
    print()
    print(f"machine: {os.cpu_count()} cores, load average {' '.join(f'{n:.1f}' for n in os.getloadavg())} "
          "(shares of bare are measured in the same run, round by round)")
    print(f"bare flask /hello: median {statistics.median(r['rps'] for r in bench.bare):.0f} req/s over "
          f"{len(bench.bare)} rounds")
    print(f"{'scenario':<52} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8} {'vs bare':>8}  rounds")
    print("-" * 122)
    gaps = []
    for scenario in bench.scenarios:
        shares = " ".join(f"{share * 100:.0f}%" for share in scenario.shares)
        p50, p99 = (scenario.median(figure) for figure in ("p50_ms", "p99_ms"))
        print(f"{scenario.name:<52} {scenario.median('rps') or 0:>9.1f} "
              f"{'n/a' if p50 is None else f'{p50:.2f}':>8} {'n/a' if p99 is None else f'{p99:.2f}':>8} "
              f"{sum(r['non_2xx'] for r in scenario.rounds):>8} {statistics.median(scenario.shares) * 100:>7.1f}%  "
              f"{shares}")
        gaps += [f"{scenario.name}: {gap}" for gap in scenario.latency_gaps()]
    print("(req/s, p50, p99 and the share of bare are medians over the rounds; p50 and p99 over the rounds "
          "that measured a latency)")
    for gap in gaps:
        print(gap)
    for scenario in bench.scenarios:
        extra = scenario.extra
        if "listing_hit_rate" in extra:
            for label, key in (("listing", "listing_hit_rate"), ("product page", "page_hit_rate")):
                rate, hits, misses = extra[key]
                print(f"{scenario.name}: {label} cache hit rate {rate * 100:.1f} % ({hits} hits, {misses} misses)")
            rss = extra["worker_rss_kib"]
            print(f"{scenario.name}: gunicorn workers' resident memory after it: "
                  f"{', '.join(f'{kib / 1024:.0f} MiB' for kib in rss)}")
            for label, key in (("event consumers (supervisor, then each process)", "event_worker_rss_kib"),
                               ("celery worker (main with beat, then each pool process)", "celery_worker_rss_kib")):
                if key in extra:
                    print(f"{scenario.name}: {label}: {', '.join(f'{kib / 1024:.0f} MiB' for kib in extra[key])}")
            best = capacity(extra["capacity"])
            for connections, figures in extra["capacity"]:
                figures_ms = latency_missing(figures) or f"{latency(figures, 'p50')}, {latency(figures, 'p99')}"
                timed_out = f", {figures['timeouts']:.0f} timed out" if figures["timeouts"] else ""
                print(f"{scenario.name}: {connections:>3} connections: {figures['rps']:.0f} req/s, "
                      f"{figures_ms}{timed_out}")
            if best:
                print(f"capacity of one web host at p99 <= {CAPACITY_P99_MS:.0f} ms: {best[1]['rps']:.0f} req/s "
                      f"({best[0]} connections)")
            else:
                print(f"capacity at p99 <= {CAPACITY_P99_MS:.0f} ms: no step stayed within it")
        if "orders_per_s" in extra:
            oversell = extra["oversell"]
            print(f"checkout: {oversell['orders']} orders in {extra['seconds']}s = {extra['orders_per_s']:.1f} "
                  f"orders/s; {sum(r['non_2xx'] for r in scenario.rounds)} refused (sold out or carts used up)")
            print(f"no oversell: hot product had {oversell['hot_stock_before']}, sold {oversell['hot_sold']}, left "
                  f"{oversell['hot_left']} -> {'OVERSOLD' if oversell['oversold'] else 'ok'}")
    print()


SCENARIOS = ("cached", "search", "cart", "checkout", "mixed", "large-search")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per scenario, each after a round of bare")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--capacity-connections", default="4,8,16,32",
                        help="connection counts the mixed load's capacity is sought over")
    parser.add_argument("--large-catalog", type=int, default=100_000,
                        help="products for the second search run (0 skips)")
    parser.add_argument("--only", action="append", choices=SCENARIOS,
                        help="run only these scenarios (repeatable; the bare endpoint always runs)")
    parser.add_argument("--profile", action="store_true",
                        help="no load: profile the shop in this process instead (pipelines/bench_profile.py)")
    parser.add_argument("--requests", type=int, default=300,
                        help="with --profile: requests per scenario (timed, then as many profiled)")
    options = parser.parse_args()
    wanted = set(options.only or SCENARIOS)
    if options.profile:
        from pipelines.bench_profile import profile

        subprocess.run(["bash", str(ROOT / "pipelines" / "services-up.sh")], check=True)
        profile(options.requests)
        return
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install wrk")
    subprocess.run(["bash", str(ROOT / "pipelines" / "services-up.sh")], check=True)
    say(f"Preparing database {DATABASE} (migrate + demo catalog), Redis {REDIS_URL}, broker vhost {DATABASE}")
    recreate_vhost(DATABASE)
    try:
        run(options, wanted)
    finally:
        delete_vhost(DATABASE)


def run(options: argparse.Namespace, wanted: set[str]) -> None:
    recreate_database()
    env = app_env()
    rng = random.Random(3)
    with worker_host(env) as workers, \
         gunicorn("bench_hello:create_app()", HELLO_PORT, ROOT / "pipelines", env) as hello, \
         gunicorn("shop:create_app()", APP_PORT, ROOT, env) as shop:
        bench = Bench(hello.url, shop, options.duration, options.connections, options.rounds, workers)
        listing = [f"/api/v1/products?page={page}" for page in range(1, 6)]
        pages = [f"/api/v1/products/{product_id}" for product_id in range(1, 51)]
        for path in listing + pages:
            urlopen(shop.url + path).read()  # nosec B310
        if "cached" in wanted:
            bench.alternate("product listing (cached)", lua_rotating_get(listing))
            bench.alternate("product page (cached)", lua_rotating_get(pages))
        if "search" in wanted:
            bench.alternate("search, 540 products", lua_rotating_get(search_paths(rng)))
        carts = [json.loads(urlopen(shop.url + "/api/v1/carts", data=b"").read())["id"]  # nosec B310
                 for _ in range(GUEST_CARTS)]
        in_stock = in_stock_products()
        if "cart" in wanted:
            adds = [(f"/api/v1/carts/{cart}/items", {"product_id": rng.choice(in_stock), "quantity": 1}, "")
                    for cart in carts]
            bench.alternate("add to cart", lua_post_each(adds))
        # Checkout first: its oversell check counts every order, and the mixed load's carts restock.
        if "checkout" in wanted:
            checkout(bench)
        if "mixed" in wanted:
            mixed_load(bench, rng, listing, pages, carts, in_stock,
                       [int(n) for n in options.capacity_connections.split(",") if n])
        if "large-search" in wanted:
            search_large_catalog(options.large_catalog, bench, rng)
    report(bench)
    say(f"capacity report: {write_capacity_report(bench).relative_to(ROOT)}")


def checkout(bench: Bench) -> None:
    say("checkout (preparing carts)")
    hot_stock, per_round = 300, 600 * bench.duration
    ready, hot_id = prepare_carts(count=per_round * bench.rounds, lines_per_cart=3, hot_stock=hot_stock,
                                  hot_share=0.25)

    def script(number: int) -> str:
        return lua_post_each([("/api/v1/orders", {"cart_id": cart_id, "shipping_address": ADDRESS}, token)
                              for cart_id, token in ready[number * per_round:(number + 1) * per_round]])

    scenario = bench.alternate("checkout", script)
    oversell = check_oversell(hot_id, hot_stock)
    scenario.extra.update(oversell=oversell, seconds=bench.duration * bench.rounds,
                          orders_per_s=oversell["orders"] / (bench.duration * bench.rounds))


if __name__ == "__main__":
    main()
