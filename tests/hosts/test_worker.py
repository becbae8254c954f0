"""The worker hosts: the celery worker answers through the broker."""

testinfra_hosts = ["ansible://worker"]


def test_worker_answers_a_ping_through_the_broker(host):
    hostname = host.check_output("hostname")
    image = host.check_output("docker inspect --format '{{.Config.Image}}' shop-worker")
    output = host.check_output(
        "docker run --rm --network host --env-file /etc/shop/shop.env "
        f"{image} celery --app shop.tasks:celery_app inspect ping --timeout 10 "
        f"--destination celery@{hostname}"
    )
    assert "pong" in output


def test_worker_runs_the_periodic_jobs(host):
    # The expiry sweep and the outbox relay are scheduled by the worker's embedded beat.
    logs = host.check_output("docker logs shop-worker 2>&1")
    assert "beat: Starting" in logs
