"""`make bench-profile` (`python pipelines/bench.py --profile`): what the CPU does per request.

The bench's database and production-shaped settings (PostgreSQL, Redis, a RabbitMQ vhost), the shop
built in this process, and each scenario driven through Flask's test client (every request its own
app context and database session, as under gunicorn). Per scenario: the CPU and wall time the shop's
WSGI call takes (the test client's own work left out), its SQL statements and round trips, the time
they wait on PostgreSQL and PostgreSQL's own CPU, then a second pass under cProfile whose CPU is
grouped by subsystem. gunicorn's HTTP parsing is not in these figures; the bare endpoint, measured
the same way, is the yardstick. Writes build/bench-profile.json, build/bench-profile.txt and each
scenario's cProfile data (build/bench-profile-<scenario>.prof, for pstats or snakeviz).
"""

from __future__ import annotations

import cProfile
import io
import itertools
import json
import os
import pstats
import random
import re
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from pipelines import bench

BUILD = bench.ROOT / "build"
# Requests each scenario runs unmeasured first, so every compiled-statement cache and pool is warm.
WARM_UP = 30
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

# Subsystems by where a function lives: (what its file path contains, subsystem); first match wins.
# The shop's own code is named by package (shop.cart, shop.orders, ...), see subsystem().
SUBSYSTEMS = [
    ("/flask_sqlalchemy/", "SQLAlchemy ORM"),
    ("/sqlalchemy/orm/", "SQLAlchemy ORM"),
    ("/sqlalchemy/sql/", "SQLAlchemy core/compilation"),
    ("/sqlalchemy/engine/", "SQLAlchemy engine/pool/dialect"),
    ("/sqlalchemy/pool/", "SQLAlchemy engine/pool/dialect"),
    ("/sqlalchemy/dialects/", "SQLAlchemy engine/pool/dialect"),
    ("/sqlalchemy/", "SQLAlchemy other (events, util)"),
    ("psycopg", "psycopg (driver)"),
    ("/werkzeug/", "werkzeug/flask dispatch"),
    ("/flask/", "werkzeug/flask dispatch"),
    ("/blinker/", "werkzeug/flask dispatch"),
    ("/flask_limiter/", "rate limiting (flask_limiter/limits)"),
    ("/limits/", "rate limiting (flask_limiter/limits)"),
    ("/prometheus_client/", "metrics (prometheus_client)"),
    ("/pydantic", "pydantic"),
    ("/itsdangerous/", "auth tokens (itsdangerous)"),
    ("/redis/", "redis client"),
    ("/flask_caching/", "redis client"),
    ("/kombu/", "broker (celery/kombu/amqp)"),
    ("/celery/", "broker (celery/kombu/amqp)"),
    ("/amqp/", "broker (celery/kombu/amqp)"),
    ("/vine/", "broker (celery/kombu/amqp)"),
    ("/jinja2/", "jinja2"),
    ("/json/", "json"),
    ("/logging/", "logging"),
    ("/socket.py", "network (socket)"),
    ("/selectors.py", "network (socket)"),
    ("/ssl.py", "network (socket)"),
]
# C functions (no file) named like this belong to a subsystem themselves; any other is charged to
# its callers' subsystems, in proportion to the time each call site spent in it.
BUILTIN_SUBSYSTEMS = [("psycopg", "psycopg (driver)"), ("_json", "json"), ("socket", "network (socket)"),
                      ("select.", "network (socket)"), ("_ssl", "network (socket)")]


def subsystem(filename: str, name: str) -> str | None:
    """The subsystem a profiled function belongs to; None for a C function charged to its callers."""
    if filename == "~":
        return next((group for marker, group in BUILTIN_SUBSYSTEMS if marker in name), None)
    path = filename.replace(os.sep, "/")
    if "/app/shop/" in path:
        module = path.split("/app/shop/", 1)[1].removesuffix(".py").split("/")[0]
        return f"shop.{module}"
    return next((group for marker, group in SUBSYSTEMS if marker in path), "other (stdlib, typing, ...)")


def by_subsystem(stats: pstats.Stats) -> dict[str, float]:
    """Own CPU seconds by subsystem; each C function charged to whoever called it (see subsystem())."""
    raw: dict = stats.stats  # type: ignore[attr-defined]
    groups: dict[str, float] = defaultdict(float)

    def charge(function: tuple, seconds: float, seen: frozenset = frozenset()) -> None:
        filename, _line, name = function
        group = subsystem(filename, name)
        if group is not None:
            groups[group] += seconds
            return
        callers = raw[function][4] if function in raw else {}
        spent = sum(edge[2] for edge in callers.values())
        if not callers or spent <= 0 or function in seen:
            groups["other (stdlib, typing, ...)"] += seconds
            return
        for caller, edge in callers.items():
            charge(caller, seconds * edge[2] / spent, seen | {function})

    for function, (_cc, _nc, own, _cumulative, _callers) in raw.items():
        charge(function, own)
    return dict(groups)


@dataclass
class Counters:
    """What the database driver did: statements (as the tests count them) and round trips."""

    statements: int = 0
    round_trips: int = 0
    sql_seconds: float = 0.0
    redis_commands: int = 0
    by_statement: Counter = field(default_factory=Counter)
    seconds_by_statement: Counter = field(default_factory=Counter)

    def since(self, before: Counters) -> Counters:
        """What was counted after `before` (a copy taken then: ``counters.since(Counters())``)."""
        return Counters(self.statements - before.statements, self.round_trips - before.round_trips,
                        self.sql_seconds - before.sql_seconds, self.redis_commands - before.redis_commands,
                        self.by_statement - before.by_statement,
                        self.seconds_by_statement - before.seconds_by_statement)


def count_driver_work(engine: sa.Engine, counters: Counters) -> None:
    """Count statements and time them (SQLAlchemy's cursor events, as tests/app/statements.py) and
    count the driver's round trips: every cursor execute, the ping, and BEGIN/COMMIT/ROLLBACK, which
    psycopg sends as commands of their own."""
    import psycopg
    import redis

    started: list[float] = []

    @sa.event.listens_for(engine, "before_cursor_execute")
    def before(conn, cursor, statement, parameters, context, executemany):
        counters.statements += 1
        counters.by_statement[statement] += 1
        started.append(time.perf_counter())

    @sa.event.listens_for(engine, "after_cursor_execute")
    def after(conn, cursor, statement, parameters, context, executemany):
        took = time.perf_counter() - started.pop()
        counters.sql_seconds += took
        counters.seconds_by_statement[statement] += took

    def counted(method: Callable, tally: Callable[[], None]) -> Callable:
        def run(*args, **kwargs):
            tally()
            return method(*args, **kwargs)

        return run

    def round_trip() -> None:
        counters.round_trips += 1

    def redis_command() -> None:
        counters.redis_commands += 1

    psycopg.Cursor.execute = counted(psycopg.Cursor.execute, round_trip)  # type: ignore[method-assign]
    psycopg.Cursor.executemany = counted(psycopg.Cursor.executemany, round_trip)  # type: ignore[method-assign]
    psycopg.Connection._exec_command = counted(psycopg.Connection._exec_command, round_trip)  # type: ignore
    redis.Redis.execute_command = counted(redis.Redis.execute_command, redis_command)  # type: ignore


def postgres_cpu_seconds() -> float:
    """CPU the bench database's server processes have used so far (this machine's PostgreSQL)."""
    engine = sa.create_engine(bench.database_url())
    with engine.connect() as connection:
        pids = connection.execute(sa.text("SELECT pid FROM pg_stat_activity WHERE datname = :db "
                                          "AND pid <> pg_backend_pid()"), {"db": bench.DATABASE}).scalars().all()
    engine.dispose()
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLOCK_TICKS


class Timed:
    """WSGI middleware: the CPU and wall time of the app's own call, and a profiler switched on only
    around it, so the test client's work is in neither."""

    def __init__(self, wsgi_app: Callable):
        self.wsgi_app = wsgi_app
        self.profiler: cProfile.Profile | None = None
        self.reset()

    def reset(self) -> None:
        self.process = self.thread = self.wall = 0.0

    def __call__(self, environ, start_response):
        process, thread, wall = time.process_time(), time.thread_time(), time.perf_counter()
        if self.profiler:
            self.profiler.enable()
        try:
            return list(self.wsgi_app(environ, start_response))
        finally:
            if self.profiler:
                self.profiler.disable()
            self.process += time.process_time() - process
            self.thread += time.thread_time() - thread
            self.wall += time.perf_counter() - wall


@dataclass
class Scenario:
    name: str
    # Sends the scenario's next request; its status code.
    send: Callable[[], int]
    timed: Timed
    expected: int = 200


@dataclass
class Figures:
    name: str
    requests: int
    cpu_ms: float
    thread_cpu_ms: float
    wall_ms: float
    statements: float
    round_trips: float
    sql_wall_ms: float
    postgres_cpu_ms: float
    redis_commands: float
    subsystems_ms: dict[str, float]
    profiled_cpu_ms: float
    statement_ms: list[tuple[str, float, float]]
    top_cumulative: str
    top_own: str


def drive(scenario: Scenario, requests: int) -> None:
    for number in range(requests):
        status = scenario.send()
        if status != scenario.expected:
            raise RuntimeError(f"{scenario.name}: request {number} answered {status}")


def measure(scenario: Scenario, requests: int, counters: Counters) -> Figures:
    """Two passes of `requests`: one timed and counted, one under cProfile (timed by this thread's CPU)."""

    timed = scenario.timed
    timed.reset()
    postgres = postgres_cpu_seconds()
    # After that look-up, whose own statement the counters see.
    before = counters.since(Counters())
    drive(scenario, requests)
    process, thread, wall = timed.process, timed.thread, timed.wall
    done = counters.since(before)
    statements, seconds = done.by_statement, done.seconds_by_statement
    postgres = postgres_cpu_seconds() - postgres

    profiler = cProfile.Profile(time.thread_time)
    timed.profiler = profiler
    timed.reset()
    drive(scenario, requests)
    timed.profiler = None
    BUILD.mkdir(exist_ok=True)
    profiler.dump_stats(BUILD / f"bench-profile-{re.sub(r'[^a-z]+', '-', scenario.name.lower()).strip('-')}.prof")
    stats = pstats.Stats(profiler)
    groups = by_subsystem(stats)
    profiled = sum(groups.values()) or 1.0
    cpu_ms = process / requests * 1000

    def top(order: str) -> str:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(order).print_stats(25)
        return out.getvalue()

    return Figures(
        name=scenario.name, requests=requests, cpu_ms=cpu_ms, thread_cpu_ms=thread / requests * 1000,
        wall_ms=wall / requests * 1000,
        statements=done.statements / requests, round_trips=done.round_trips / requests,
        sql_wall_ms=done.sql_seconds / requests * 1000, postgres_cpu_ms=postgres / requests * 1000,
        redis_commands=done.redis_commands / requests,
        # The profiler slows what it measures; its shares are scaled to the unprofiled CPU.
        subsystems_ms={group: seconds_ / profiled * cpu_ms
                       for group, seconds_ in sorted(groups.items(), key=lambda item: -item[1])},
        profiled_cpu_ms=timed.thread / requests * 1000,
        statement_ms=sorted(((" ".join(sql.split())[:160], count / requests, seconds[sql] / count * 1000)
                             for sql, count in statements.items()), key=lambda row: -row[1] * row[2]),
        top_cumulative=top("cumulative"), top_own=top("tottime"),
    )


@contextmanager
def production_shaped() -> Iterator[None]:
    """The bench's database, Redis and broker vhost, freshly made, and its settings in this process
    (with the metrics directory gunicorn's settings give every worker)."""
    bench.say(f"Preparing database {bench.DATABASE} (migrate + demo catalog), Redis {bench.REDIS_URL}, "
              f"broker vhost {bench.DATABASE}")
    bench.recreate_vhost(bench.DATABASE)
    metrics = tempfile.TemporaryDirectory(prefix="bench-profile-metrics-")
    try:
        bench.recreate_database()
        os.environ.update(bench.app_env(PROMETHEUS_MULTIPROC_DIR=metrics.name))
        yield
    finally:
        bench.delete_vhost(bench.DATABASE)
        metrics.cleanup()


def scenarios(requests: int) -> list[Scenario]:
    from pipelines.bench_hello import create_app as create_bare_app
    from shop import create_app
    from shop.extensions import db

    per_scenario = WARM_UP + 2 * requests
    bench.say(f"Preparing {2 * per_scenario} customers' carts (half to check out, half to add to)")
    ready, _ = bench.prepare_carts(count=2 * per_scenario, lines_per_cart=3, hot_stock=0, hot_share=0.0,
                                   batch="profile")
    to_check_out, to_add_to = iter(ready[:per_scenario]), itertools.cycle(ready[per_scenario:])
    in_stock = bench.in_stock_products()
    rng = random.Random(3)

    bare, shop = create_bare_app(), create_app()
    bare_timed, shop_timed = Timed(bare.wsgi_app), Timed(shop.wsgi_app)
    bare.wsgi_app, shop.wsgi_app = bare_timed, shop_timed  # type: ignore[method-assign]
    bare_client, client = bare.test_client(), shop.test_client()
    with shop.app_context():
        count_driver_work(db.engine, COUNTERS)
    guest_carts = itertools.cycle([client.post("/api/v1/carts").json["id"] for _ in range(bench.GUEST_CARTS)])
    pages = itertools.cycle([f"/api/v1/products/{product_id}" for product_id in range(1, 51)])

    def add_to_guest_cart() -> int:
        body = {"product_id": rng.choice(in_stock), "quantity": 1}
        return client.post(f"/api/v1/carts/{next(guest_carts)}/items", json=body).status_code

    def add_to_customer_cart() -> int:
        cart_id, token = next(to_add_to)
        body = {"product_id": rng.choice(in_stock), "quantity": 1}
        return client.post(f"/api/v1/carts/{cart_id}/items", json=body,
                           headers={"Authorization": f"Bearer {token}"}).status_code

    def check_out() -> int:
        cart_id, token = next(to_check_out)
        return client.post("/api/v1/orders", json={"cart_id": cart_id, "shipping_address": bench.ADDRESS},
                           headers={"Authorization": f"Bearer {token}"}).status_code

    return [
        Scenario("bare flask /hello", lambda: bare_client.get("/hello").status_code, bare_timed),
        Scenario("product page (cached)", lambda: client.get(next(pages)).status_code, shop_timed),
        Scenario("add to cart (guest, as the bench)", add_to_guest_cart, shop_timed),
        Scenario("add to cart (customer)", add_to_customer_cart, shop_timed),
        Scenario("checkout (customer, 3 lines)", check_out, shop_timed, expected=201),
    ]


COUNTERS = Counters()


def report(results: list[Figures]) -> str:
    lines = [f"{'scenario':<36} {'CPU ms':>7} {'thread':>7} {'wall ms':>8} {'stmts':>6} {'trips':>6} "
             f"{'SQL ms':>7} {'PG CPU':>7} {'redis':>6}"]
    lines.append("-" * len(lines[0]))
    for figures in results:
        lines.append(f"{figures.name:<36} {figures.cpu_ms:>7.2f} {figures.thread_cpu_ms:>7.2f} "
                     f"{figures.wall_ms:>8.2f} {figures.statements:>6.1f} {figures.round_trips:>6.1f} "
                     f"{figures.sql_wall_ms:>7.2f} {figures.postgres_cpu_ms:>7.2f} {figures.redis_commands:>6.1f}")
    lines.append("(per request: the shop's WSGI call's process CPU, this thread's CPU and wall time; SQL "
                 "statements and driver round trips; the wall time spent in statements; PostgreSQL's server "
                 "CPU (10 ms ticks over the pass); Redis commands)")
    groups = sorted({group for figures in results for group in figures.subsystems_ms},
                    key=lambda group: -max(figures.subsystems_ms.get(group, 0) for figures in results))
    lines += ["", "CPU ms per request by subsystem (cProfile's shares scaled to the unprofiled CPU):",
              f"{'subsystem':<38}" + "".join(f"{figures.name[:14]:>15}" for figures in results)]
    for group in groups:
        lines.append(f"{group:<38}" + "".join(f"{figures.subsystems_ms.get(group, 0):>15.3f}" for figures in results))
    return "\n".join(lines)


def profile(requests: int) -> None:
    """Seed, build the shop in-process, run every scenario and write the reports."""
    with production_shaped():
        results = []
        for scenario in scenarios(requests):
            bench.say(f"{scenario.name}: {WARM_UP} warm-up requests, then {requests} timed and {requests} profiled")
            drive(scenario, WARM_UP)
            figures = measure(scenario, requests, COUNTERS)
            bench.say(f"  {figures.cpu_ms:.2f} ms CPU, {figures.wall_ms:.2f} ms wall, {figures.statements:.1f} "
                      f"statements, {figures.round_trips:.1f} round trips, PostgreSQL {figures.postgres_cpu_ms:.2f} "
                      "ms CPU per request")
            results.append(figures)
    table = report(results)
    BUILD.mkdir(exist_ok=True)
    (BUILD / "bench-profile.json").write_text(json.dumps(
        {"machine": {"cores": os.cpu_count(), "load_average": os.getloadavg()}, "requests": requests,
         "scenarios": [{key: value for key, value in vars(figures).items() if not key.startswith("top_")}
                       for figures in results]}, indent=2, sort_keys=True) + "\n")
    details = [table]
    for figures in results:
        details += [f"\n\n==== {figures.name} ====", "statements per request (count, mean ms each):"]
        details += [f"  {count:4.1f} x {ms:6.3f} ms  {sql}" for sql, count, ms in figures.statement_ms]
        details += ["-- top 25 by cumulative time (cProfile, thread CPU) --", figures.top_cumulative,
                    "-- top 25 by own time --", figures.top_own]
    (BUILD / "bench-profile.txt").write_text("\n".join(details) + "\n")
    print()
    print(table)
    print(f"\nwritten: {BUILD / 'bench-profile.json'}, {BUILD / 'bench-profile.txt'}")
