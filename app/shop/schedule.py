"""The periodic jobs without a broker. With one, the worker's celery beat runs them; on the embedded
default nothing would, so the web process runs the same schedule (the Celery app's beat_schedule)
in a thread of its own: reservations expire, payments are reconciled, and the sandbox carrier's
parcels move on their own (gunicorn_conf starts it in each web process)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from flask import Flask

log = logging.getLogger(__name__)


class EmbeddedSchedule:
    """Each job of the beat schedule, run in this process every `schedule` seconds of `clock`."""

    def __init__(self, app: Flask, clock: Callable[[], float] = time.monotonic) -> None:
        self.app = app
        self.clock = clock
        celery_app = app.extensions["celery"]
        self.jobs = {name: (celery_app.tasks[entry["task"]], float(entry["schedule"]))
                     for name, entry in celery_app.conf.beat_schedule.items()}
        started = clock()
        # As beat does on a fresh schedule, each job runs first one interval after the start.
        self.due = {name: started + every for name, (_, every) in self.jobs.items()}

    def run_due(self) -> list[str]:
        """Run the jobs whose time has come (a failing one is logged and runs again next time);
        the names of those that ran."""
        now, ran = self.clock(), []
        for name, (task, every) in self.jobs.items():
            if self.due[name] > now:
                continue
            self.due[name] = now + every
            try:
                with self.app.app_context():
                    task.apply(throw=True)
            except Exception:  # noqa: BLE001 - one job's failure must not stop the others
                log.exception("periodic job %s failed; it runs again in %g s", name, every)
            ran.append(name)
        return ran

    def seconds_to_next(self) -> float:
        return max(0.0, min(self.due.values(), default=60.0) - self.clock())

    def start(self) -> threading.Event:
        """Run the schedule in a daemon thread until the process ends, or the returned event is set."""
        stopped = threading.Event()

        def loop() -> None:
            while not stopped.is_set():
                self.run_due()
                stopped.wait(self.seconds_to_next())

        threading.Thread(target=loop, name="embedded-schedule", daemon=True).start()
        log.info("running the periodic jobs in-process (no BROKER_URL): %s", ", ".join(sorted(self.jobs)))
        return stopped
