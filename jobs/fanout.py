"""Fan-out: many partitions fetched on a bounded thread pool, written by one thread.

A job that reads one resource per user, per meeting instance or per window
hands those items to :func:`fan_out`. Worker threads fetch; each turns what it
fetched into write steps and puts them on a bounded queue. The thread that
called :func:`fan_out`, which owns the job's SQLite connection, is the only
writer: it takes the steps off the queue and commits those waiting together in
one transaction. Steps of one item arrive in the order the worker made them,
so a cursor step placed after an item's rows commits with or after them.

Memory stays flat: at most two items per worker are in flight, and the queue
contains a bounded number of steps, each of at most one page of rows.
"""

from __future__ import annotations

import contextvars
import math
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import structlog
from sqlite_utils import Database

from jobs import store
from jobs.base import JobContext
from jobs.plan import JOB_ENDING_ERRORS, fail_resource
from zoom_auth import SkippableError, ZoomError, ZoomSession
from zoom_auth.session import CANCEL

log = structlog.get_logger(__name__)

Item = TypeVar("Item")

# A write step runs in the writer thread inside an open transaction and
# returns the number of rows it wrote.
Step = Callable[[Database], int]

# Workers used when no pacer sets how many the rate limits can keep busy.
UNPACED_WORKERS = 8
# The maximum the automatic sizing chooses. The connection pool is at least
# this large.
MAX_AUTO_WORKERS = 32
# Seconds a response is assumed to take before any has been timed.
ASSUMED_LATENCY = 0.3
# Steps the writer commits in one transaction at most.
STEPS_PER_COMMIT = 64
# Seconds a worker waits on a full queue before it checks whether the writer
# is still there.
PUT_POLL = 0.2


def auto_workers(session: ZoomSession, category: str) -> int:
    """Return how many workers keep a paced category busy at the latency seen.

    A paced category needs its rate times the response time in requests in
    flight; half as many again absorbs jitter. Without pacing the count is
    :data:`UNPACED_WORKERS`.
    """
    pacer = session.pacer
    if pacer is None:
        return UNPACED_WORKERS
    latency = session.latency if session.latency is not None else ASSUMED_LATENCY
    needed = math.ceil(pacer.rate(category) * latency * 1.5) + 1
    return max(2, min(needed, MAX_AUTO_WORKERS))


def worker_count(ctx: JobContext, category: str) -> int:
    """Return the configured worker count, or the automatic one for ``category``."""
    configured = ctx.config.sync.workers
    if configured is not None:
        return configured
    return auto_workers(ctx.session, category)


@dataclass(frozen=True)
class _Done(Generic[Item]):
    """An item ended: fetched in full, or with ``error``, or not at all."""

    item: Item
    fetched: bool
    error: BaseException | None = None


class FanOutStopped(Exception):
    """Raised in a worker by :class:`Emit` once the job is ending."""


class Emit:
    """Hands one item's write steps to the writer thread, in order.

    Once the job is ending, emitting still queues the step, which the writer
    commits, and then raises :class:`FanOutStopped`, so the worker sends no
    further request for its item. A step that finds no writer left is dropped.
    """

    def __init__(self, fan_out: _FanOut[Any]):
        self._fan_out = fan_out

    def __call__(self, step: Step) -> None:
        """Queue a write step, waiting while the queue is full.

        Raises:
            FanOutStopped: the job is ending.
        """
        self._fan_out.put(step)
        if self._fan_out.abort.is_set():
            raise FanOutStopped("the job is ending")


def skip_or_fail(
    ctx: JobContext, resource: Callable[[Item], str]
) -> Callable[[Item, ZoomError], None]:
    """Return an ``on_error`` that counts a skip, or records a failed resource.

    A :class:`SkippableError` (a user or meeting gone or out of reach) is a
    skip. Any other error is a failure, which makes the run partial, unless it
    shows that the plan lacks the feature: that one ends the job.
    """

    def on_error(item: Item, error: ZoomError) -> None:
        if isinstance(error, SkippableError):
            ctx.result.skip(resource(item), error)
        else:
            fail_resource(ctx, resource(item), error)

    return on_error


def fan_out(
    ctx: JobContext,
    items: Iterable[Item],
    fetch: Callable[[Item, Emit], None],
    *,
    category: str,
    on_error: Callable[[Item, ZoomError], None],
    on_done: Callable[[Item], None] | None = None,
) -> None:
    """Fetch every item on worker threads and write their steps from this thread.

    Args:
        ctx: the job's context; its connection is used from this thread only.
        items: the partitions, read lazily.
        fetch: runs on a worker; calls ``emit(step)`` for each write.
        category: the rate-limit category most of ``fetch``'s requests use,
            which sizes the pool when ``sync.workers`` is not set.
        on_error: runs on this thread for an item whose fetch raised a
            :class:`ZoomError` that does not end the job, after every step the
            item emitted has been committed. It may raise to end the job.
        on_done: runs on this thread after an item's steps are committed.

    Raises:
        The first error that ends the job: one of ``JOB_ENDING_ERRORS`` from a
        fetch, an exception from ``on_error``, a bug in ``fetch`` or a failed
        write. Steps committed before it stay.
    """
    workers = worker_count(ctx, category)
    runner = _FanOut(ctx, fetch, workers, on_error, on_done)
    log.info("fan_out_started", workers=workers, category=category)
    runner.run(iter(items))


class _FanOut(Generic[Item]):
    def __init__(
        self,
        ctx: JobContext,
        fetch: Callable[[Item, Emit], None],
        workers: int,
        on_error: Callable[[Item, ZoomError], None],
        on_done: Callable[[Item], None] | None,
    ):
        self.ctx = ctx
        self.fetch = fetch
        self.workers = workers
        self.on_error = on_error
        self.on_done = on_done
        self.queue: queue.Queue[Any] = queue.Queue(maxsize=workers * 4)
        # Set when the job is ending: no new item starts and emitting raises.
        self.abort = threading.Event()
        # Set when the writer reads the queue no more: workers drop what they
        # would queue, so none waits on a full queue forever.
        self.closed = threading.Event()
        self.emit = Emit(self)
        self.in_flight = 0
        self.failure: BaseException | None = None
        self.write_failed = False

    def run(self, items: Iterable[Item]) -> None:
        pending = iter(items)
        pool = ThreadPoolExecutor(self.workers, thread_name_prefix="fetch")
        try:
            try:
                self._drive(pending, pool)
            finally:
                self.abort.set()
                self._drain()
        finally:
            # Reached without draining too, when a signal interrupts the drain.
            self.closed.set()
            pool.shutdown(wait=True, cancel_futures=True)
        if self.failure is not None:
            raise self.failure

    def put(self, entry: Any) -> None:
        """Queue an entry for the writer, or drop it once the writer is gone."""
        while not self.closed.is_set():
            try:
                self.queue.put(entry, timeout=PUT_POLL)
            except queue.Full:
                continue
            return

    def _drive(self, pending: Iterator[Item], pool: ThreadPoolExecutor) -> None:
        exhausted = False
        while True:
            while not exhausted and not self.abort.is_set():
                if self.in_flight >= self.workers * 2:
                    break
                try:
                    item = next(pending)
                except StopIteration:
                    exhausted = True
                    break
                # Workers log with the job's context (run_id, job).
                pool.submit(self._work_in, contextvars.copy_context(), item)
                self.in_flight += 1
            if self.in_flight == 0:
                return
            self._write(self._take_batch())

    def _work_in(self, context: contextvars.Context, item: Item) -> None:
        context.run(self._work_cancellable, item)

    def _work_cancellable(self, item: Item) -> None:
        # Requests of this task, pacing waits included, end once the job is
        # ending; the copied context keeps this to the one task.
        CANCEL.set(self.abort)
        self._work(item)

    def _work(self, item: Item) -> None:
        if self.abort.is_set():
            self.put(_Done(item, fetched=False))
            return
        try:
            self.fetch(item, self.emit)
        except BaseException as exc:  # handed to the writer thread
            self.put(_Done(item, fetched=True, error=exc))
        else:
            self.put(_Done(item, fetched=True))

    def _take_batch(self) -> list[Any]:
        batch = [self.queue.get()]
        while len(batch) < STEPS_PER_COMMIT:
            try:
                batch.append(self.queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _write(self, batch: list[Any]) -> None:
        # Steps queued before a fetch ended the job are still committed: they
        # are whole pages, and cursor steps follow the rows they cover.
        steps = [entry for entry in batch if not isinstance(entry, _Done)]
        if steps and not self.write_failed:
            try:
                with store.transaction(self.ctx.db):
                    rows = sum(step(self.ctx.db) for step in steps)
                self.ctx.result.rows += rows
            except BaseException as exc:
                self.write_failed = True
                self._fail(exc)
        for entry in batch:
            if isinstance(entry, _Done):
                self.in_flight -= 1
                self._finish(entry)

    def _finish(self, done: _Done[Item]) -> None:
        if self.failure is not None or not done.fetched:
            return
        if isinstance(done.error, FanOutStopped):
            return
        try:
            if done.error is None:
                self.ctx.result.succeed()
                if self.on_done is not None:
                    self.on_done(done.item)
            elif isinstance(done.error, JOB_ENDING_ERRORS) or not isinstance(
                done.error, ZoomError
            ):
                raise done.error
            else:
                self.on_error(done.item, done.error)
        except BaseException as exc:
            self._fail(exc)

    def _fail(self, exc: BaseException) -> None:
        if self.failure is None:
            self.failure = exc
        self.abort.set()

    def _drain(self) -> None:
        """Wait for the workers still running, committing what they send."""
        while self.in_flight > 0:
            self._write(self._take_batch())
