#!/usr/bin/env bash
# `make run`: migrate, seed the demo catalog (once) and serve the shop with gunicorn on the
# embedded default, or on whatever DATABASE_URL / REDIS_URL / BROKER_URL say.
set -euo pipefail
export FLASK_APP=shop
PORT=${PORT:-8000}

echo "==> Migrating the database"
flask db upgrade
echo "==> Seeding the demo catalog"
flask seed-demo
echo
echo "shopstack is starting on http://127.0.0.1:${PORT}  (API: http://127.0.0.1:${PORT}/api/v1/products)"
echo "Press Ctrl-C to stop."
export HOST=${HOST:-127.0.0.1} PORT
exec gunicorn --config python:shop.gunicorn_conf "shop:create_app()"
