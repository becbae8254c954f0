"""gunicorn settings for the shop (`gunicorn --config python:shop.gunicorn_conf "shop:create_app()"`)."""

import multiprocessing
import os
import tempfile

# Where to listen; the lab and AWS put nginx in front on port 80.
bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"
# Processes answering requests: one per core plus one, unless the deploy says otherwise. On the
# embedded default (no DATABASE_URL) one process: its in-process cache is then the only one, so
# a change is seen at once, and SQLite takes one writer at a time anyway.
default_workers = multiprocessing.cpu_count() + 1 if os.environ.get("DATABASE_URL") else 1
workers = int(os.environ.get("WEB_CONCURRENCY", default_workers))
# Threads per process (gthread): requests waiting on the database or Redis do not hold a
# process, and keep-alive connections are served.
threads = int(os.environ.get("WEB_THREADS", "4"))
# A request taking longer than this is killed and its worker replaced.
timeout = int(os.environ.get("WEB_TIMEOUT", "30"))
# Seconds a worker gets to finish its requests on a graceful stop (rolling deploys).
graceful_timeout = int(os.environ.get("WEB_GRACEFUL_TIMEOUT", "20"))
keepalive = 5
accesslog = os.environ.get("WEB_ACCESS_LOG") or None
errorlog = "-"

# Every worker writes its metrics here and /metrics sums them.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="shop-metrics-"))


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def post_worker_init(worker):
    # Without a broker no worker runs the periodic jobs (celery beat): each web process does. Only
    # the shop has them (`make bench`'s bare endpoint runs under these settings too).
    config = worker.wsgi.config
    if "BROKER_URL" in config and not config["BROKER_URL"]:
        from shop.schedule import EmbeddedSchedule

        EmbeddedSchedule(worker.wsgi).start()
