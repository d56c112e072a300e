"""Runs attempts on a Dask cluster: one task per attempt runs it on a worker.

Needs the ``dask`` extra (``pip install "tunelab[dask]"``). Each attempt is one Dask task
(:func:`run_attempt`) that runs it through :mod:`tunelab.runner` in the worker's own
process, so the trial runs there exactly as it does locally, and forwards its events, the
exit last, to the coordinator through a distributed ``Queue`` of the run: the
coordinator never fetches a task's result, it looks at a task only when the task ended
without sending an exit (it failed, or its worker died). Stops travel down through a
distributed ``Event`` per attempt.
Only JSON-able dicts cross the wire; the user's code is started by argv, never shipped.

The executor holds one attempt ready per slot beyond those running (:attr:`DaskExecutor.ahead`),
so a worker starts the next trial the moment its last one ends, without waiting for the
coordinator to hear of the end, propose and submit. A distributed ``Semaphore`` of
``slots`` leases, taken by each task before its trial starts, keeps the trials running at
once to ``n_parallel`` however many threads the cluster has.

Dask re-runs a task whose worker died; tunelab must not, because its engine retries
with a new attempt. Clusters tunelab starts are set to ``allowed-failures: 0``, every
task is submitted with ``retries=0``, and a task that finds its attempt already claimed
by an earlier run refuses to start it: an attempt runs at most once.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dask
from distributed import Client, Event, Queue, Semaphore, Variable, get_worker, wait
from distributed.client import FutureCancelledError

from tunelab import runner
from tunelab.exceptions import UserError
from tunelab.executors._base import EXIT, Executor, Launch
from tunelab.executors._base import Event as AttemptEvent
from tunelab.executors.function import FunctionExecutor
from tunelab.runner import event_from_dict, event_to_dict, launch_from_dict, launch_to_dict

STARTED_CLUSTER = {
    "distributed.scheduler.allowed-failures": 0,
    "distributed.worker.profile.enabled": False,
    "distributed.scheduler.locks.lease-timeout": "10s",
    "distributed.scheduler.locks.lease-validation-interval": "2s",
}
"""Dask configuration of the clusters tunelab starts: a task whose worker died is not re-run;
workers do not sample their task threads 100 times a second (a task only waits on its
trial, so there is nothing to profile; on 8 workers the sampling costs a tenth of a core);
the slot a dead worker held frees within 12 s, not Dask's default 40 s."""

REPORT_CHECK = 0.1
"""Seconds between the coordinator's looks for reports while it waits for a task to end."""

STOP_CHECK = 0.5
"""Seconds between a task's looks at its attempt's stop event."""

BEAT = 2.0
"""Seconds between the coordinator's heartbeats, and between a task's looks at them."""

LAPSE = 30.0
"""Default seconds without a new heartbeat after which a task deems its coordinator gone
and stops its trial (a worker of an outside scheduler outlives a coordinator killed with -9),
and after which a worker ends a process it kept for function trials that has had no work."""

REAP_CHECK = 1.0
"""Seconds between a worker's looks for kept function-trial processes idle past their lapse."""


def run_attempt(launch: dict[str, Any], run: str, slots: int, lapse: float = LAPSE, gpus: int = 0) -> dict[str, Any]:
    """The Dask task of one attempt: run it on this worker (:func:`tunelab.runner.run`)
    once one of the run's ``slots`` is free.

    Args:
        launch: the attempt (:func:`~tunelab.runner.launch_to_dict`).
        run: the id of the coordinator's run, naming its queue and the attempt's objects.
        slots: how many of the run's trials may run at once (its ``n_parallel``).
        lapse: seconds of silence from the coordinator after which the trial is stopped.
        gpus: GPUs of this worker the trial gets (``CUDA_VISIBLE_DEVICES``); Dask's worker
            resources (``GPU=2``) ensure that many are free.

    Returns:
        The attempt's exit event as a dict; unless the attempt was refused, it went to the
        run's queue too, after the attempt's other events.
    """
    key = int(launch["key"])
    claim = Event(_name("claim", run, key))
    if claim.is_set():
        return _exit(key, "lost: its worker went away and Dask re-ran the task; tunelab retries it", lost=True)
    claim.set()
    stop_wanted = _StopWanted(Event(_name("stop", run, key)), _Pulse(Variable(_name("beat", run)), lapse))
    queue, slot = _RUNS.open(run, slots)
    while not slot.acquire(timeout=STOP_CHECK):
        if stop_wanted.now():
            stopped = AttemptEvent(key, EXIT)
            _forward(queue)([stopped])
            return event_to_dict(stopped)
    try:
        return _run_here(launch, run, queue, stop_wanted, gpus, lapse)
    finally:
        slot.release()


def _run_here(launch: dict[str, Any], run: str, queue: Queue, stop_wanted: _StopWanted, gpus: int,
              lapse: float) -> dict[str, Any]:
    """Run the attempt on this worker, with ``gpus`` of its GPUs, once it holds a slot."""
    attempt, grace_period = launch_from_dict(launch)
    ids = _GPUS.take(gpus)
    if gpus:
        attempt.env = {**attempt.env, "CUDA_VISIBLE_DEVICES": ",".join(ids)}
    try:
        kept = _RUNS.functions(run, attempt, grace_period, lapse) if attempt.function else contextlib.nullcontext()
        with kept as executor:
            end = runner.run(attempt, grace_period, _forward(queue), stop_wanted,
                             host=f"{socket.gethostname()} worker {get_worker().address}", executor=executor)
    finally:
        _GPUS.give_back(ids)
    return event_to_dict(end)


def _forward(queue: Queue) -> Callable[[list[AttemptEvent]], None]:
    """What puts each batch of an attempt's events in its run's queue, as one item."""

    def put(events: list[AttemptEvent]) -> None:
        queue.put([event_to_dict(event) for event in events])

    return put


@dataclass
class _Kept:
    """A task thread's process for one run's function trials, and since when it waits."""

    run: str
    gpus: str | None
    executor: FunctionExecutor
    lapse: float
    idle_since: float | None = None

    def waited_too_long(self) -> bool:
        """Whether no attempt has used the process for longer than the run's lapse."""
        return self.idle_since is not None and time.monotonic() - self.idle_since > self.lapse


class _WorkerRuns:
    """This worker's handles on the runs it serves: each run's event queue and its slots
    (a trial runs only while its task holds one of the run's leases; the handle renews the
    leases it holds while the worker lives, and a dead worker's lapse). Opened at the run's
    first attempt here and kept for its next ones, which saves each a scheduler round trip;
    dropped when the run's coordinator shuts down (:func:`forget_run`).

    Function trials run in a process each task thread keeps for its next attempt of the
    same run, as Ray reuses its actors: the user's module is imported once per thread, not
    once per job. A thread keeps one such process at most (starting a task of another run
    ends the last run's), and a process that waited for work longer than its run's
    ``lapse`` ends: a coordinator killed with -9 never says its run is over, and an idle
    process may hold GPU memory.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.handles: dict[str, tuple[Queue, Semaphore]] = {}
        self.kept: dict[int, _Kept] = {}
        self.reaper: threading.Thread | None = None

    def open(self, run: str, slots: int) -> tuple[Queue, Semaphore]:
        with self.lock:
            if run not in self.handles:
                self.handles[run] = Queue(_name("events", run)), Semaphore(max_leases=slots, name=_name("slots", run))
            return self.handles[run]

    @contextlib.contextmanager
    def functions(self, run: str, launch: Launch, grace_period: float, lapse: float) -> Iterator[FunctionExecutor]:
        """The calling thread's executor of ``run``'s function trials for one attempt; its
        process is kept unless the attempt needs other GPUs (CUDA reads its devices once)."""
        thread, gpus = threading.get_ident(), launch.env.get("CUDA_VISIBLE_DEVICES")
        with self.lock:
            kept = self.kept.pop(thread, None)
        if kept is not None and (kept.run, kept.gpus) == (run, gpus):
            executor = kept.executor
        else:
            if kept is not None:
                kept.executor.shutdown()
            executor = FunctionExecutor(launch.function, 1, grace_period, die_with_parent=True)
        using = _Kept(run, gpus, executor, lapse)
        with self.lock:
            self.kept[thread] = using
            if self.reaper is None:
                self.reaper = threading.Thread(target=self._reap, name="tunelab-reaper", daemon=True)
                self.reaper.start()
        try:
            yield executor
        finally:
            using.idle_since = time.monotonic()

    def _reap(self) -> None:
        """End the processes that have waited longer than their run's lapse, forever."""
        while True:
            time.sleep(REAP_CHECK)
            self._end(_Kept.waited_too_long)

    def _end(self, which: Callable[[_Kept], bool]) -> None:
        """Stop keeping the processes ``which`` picks, and end them."""
        with self.lock:
            threads = [thread for thread, kept in self.kept.items() if which(kept)]
            executors = [self.kept.pop(thread).executor for thread in threads]
        for executor in executors:
            executor.shutdown()

    def forget(self, run: str) -> None:
        with self.lock:
            handles = self.handles.pop(run, None)
        if handles is not None:
            queue, slots = handles
            queue.close()
            slots.refresh_callback.stop()
        self._end(lambda kept: kept.run == run)


_RUNS = _WorkerRuns()


def forget_run(run: str) -> None:
    """Drop this worker's handles on a run that ended (run on every worker at shutdown)."""
    _RUNS.forget(run)


class _StopWanted:
    """Whether an attempt's coordinator asked it to stop, or is gone: its stop event is
    looked at every :data:`STOP_CHECK` seconds from the trial's start, not at every call."""

    def __init__(self, stop: Event, coordinator: _Pulse) -> None:
        self.stop, self.coordinator = stop, coordinator
        self.looked = time.monotonic()

    def __call__(self) -> bool:
        if time.monotonic() - self.looked < STOP_CHECK:
            return False
        return self.now()

    def now(self) -> bool:
        """Look at once."""
        self.looked = time.monotonic()
        return self.stop.is_set() or self.coordinator.gone()


class _WorkerGpus:
    """The GPU ids of this worker process and which of them running trials hold.

    The ids are the worker's ``CUDA_VISIBLE_DEVICES`` if set, else ``0 .. GPU-1`` from its
    Dask resources; tasks run in the worker's threads, hence the lock.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.held: set[str] = set()

    def take(self, count: int) -> list[str]:
        if count <= 0:
            return []
        visible = os.environ.get("CUDA_VISIBLE_DEVICES", "")
        owned = [g.strip() for g in visible.split(",") if g.strip()] or \
            [str(i) for i in range(int(get_worker().state.total_resources.get("GPU", 0)))]
        with self.lock:
            free = [g for g in owned if g not in self.held][:count]
            self.held.update(free)
        return free

    def give_back(self, ids: list[str]) -> None:
        with self.lock:
            self.held.difference_update(ids)


_GPUS = _WorkerGpus()


class _Pulse:
    """A task's view of its coordinator's heartbeat: gone once it has not changed for
    ``lapse`` seconds of this worker's clock (the two machines' clocks are never compared)."""

    def __init__(self, beat: Variable, lapse: float) -> None:
        self.beat, self.lapse = beat, lapse
        self.seen: Any = None
        self.changed = self.looked = time.monotonic()

    def gone(self) -> bool:
        now = time.monotonic()
        if now - self.looked >= BEAT:
            self.looked = now
            with contextlib.suppress(Exception):  # no answer, or no scheduler any more: no news
                value = self.beat.get(timeout=1)
                if value != self.seen:
                    self.seen, self.changed = value, now
        return now - self.changed > self.lapse


def _exit(key: int, error: str, *, lost: bool = False) -> dict[str, Any]:
    return {"key": key, "kind": EXIT, "error": error, **({"lost": True} if lost else {})}


def _name(what: str, run: str, key: int | None = None) -> str:
    return f"tunelab-{what}-{run}" + ("" if key is None else f"-{key}")


class DaskExecutor(Executor):
    """Places each attempt on a Dask worker and carries its events back.

    Args:
        client: a connected Dask client.
        slots: how many trials may run at once (the experiment's ``n_parallel``).
        cluster: the cluster tunelab started for this run (closed at shutdown), if any.
        grace_period: seconds between the stop request, SIGTERM and SIGKILL (on the worker).
        lapse: seconds of silence from this coordinator after which workers stop its trials.
        resources: Dask worker resources each attempt needs (``{"GPU": 1}``).
    """

    def __init__(self, client: Client, slots: int, cluster: Any = None, grace_period: float = 5.0,
                 lapse: float = LAPSE, resources: dict[str, float] | None = None) -> None:
        self.grace_period = grace_period
        self.client = client
        self.slots = slots
        self.cluster = cluster
        self.lapse = lapse
        self.resources = resources or None
        self.run = uuid.uuid4().hex[:12]
        self._queue = Queue(_name("events", self.run), client=client)
        self._beat = Variable(_name("beat", self.run), client=client)
        self._beat.set(0)
        self._beats, self._last_beat = 0, time.monotonic()
        self._futures: dict[int, Any] = {}
        self._ended_keys: list[int] = []
        self._stopped: set[int] = set()

    @property
    def running(self) -> list[int]:
        """Keys of the attempts still running."""
        return list(self._futures)

    @property
    def ahead(self) -> int:
        """One attempt per slot can wait on the cluster, ready to start when a slot frees."""
        return self.slots

    def submit(self, launch: Launch) -> None:
        """Send the attempt to the cluster; its folder is made on the worker."""
        launch.cwd = str(Path(launch.cwd).resolve())
        launch.folder = launch.folder.resolve()
        self._futures[launch.key] = self.client.submit(
            run_attempt, launch_to_dict(launch, self.grace_period), self.run, self.slots, self.lapse,
            int((self.resources or {}).get("GPU", 0)), key=_name("attempt", self.run, launch.key), pure=False,
            retries=0, resources=self.resources)

    def stop(self, key: int) -> None:
        """Ask the attempt's worker to stop it (stop file, SIGTERM, SIGKILL there)."""
        if key in self._futures:
            Event(_name("stop", self.run, key), client=self.client).set()
            self._stopped.add(key)

    def poll(self, timeout: float = 0.0) -> list[AttemptEvent]:
        """Events since the last call, waiting up to ``timeout`` seconds for one.

        The wait ends the moment a task ends (a trial's exit); reports are looked for every
        :data:`REPORT_CHECK` seconds meanwhile. A done task's events, its exit included, are
        all in the queue before it is done, so the queue is read after finding tasks done;
        a done task whose exit is not there failed or was lost (:meth:`_ended`).
        """
        deadline = time.monotonic() + timeout
        self._pulse()
        self._forget_ended()
        while True:
            done = [key for key, future in self._futures.items() if future.done()]
            events = [event_from_dict(item) for batch in self._queue.get(batch=True) for item in batch]
            for event in events:
                if event.kind == EXIT and self._futures.pop(event.key, None) is not None:
                    self._ended_keys.append(event.key)
            events += [self._ended(key) for key in done if key in self._futures]
            left = deadline - time.monotonic()
            if events or left <= 0 or not self._futures:
                return events
            with contextlib.suppress(TimeoutError):
                wait(list(self._futures.values()), timeout=min(left, REPORT_CHECK), return_when="FIRST_COMPLETED")

    def _pulse(self) -> None:
        """Tell the tasks the coordinator is alive (see :data:`LAPSE`)."""
        if time.monotonic() - self._last_beat >= BEAT:
            self._beats, self._last_beat = self._beats + 1, time.monotonic()
            self._beat.set(self._beats)

    def _ended(self, key: int) -> AttemptEvent:
        """The exit of a task that ended without sending one: refused, failed or lost."""
        future = self._futures.pop(key)
        try:
            event = event_from_dict(future.result())
        except FutureCancelledError:
            event = AttemptEvent(key, EXIT, error="lost: the Dask scheduler cancelled its task", lost=True)
        except Exception as exc:  # noqa: BLE001 - any task failure is this attempt's outcome
            lost = type(exc).__name__ == "KilledWorker"
            reason = "lost: the Dask worker running it died" if lost else "the Dask task failed"
            event = AttemptEvent(key, EXIT, error=f"{reason} ({type(exc).__name__}: {exc})", lost=lost)
        self._ended_keys.append(key)
        return event

    def _forget_ended(self) -> None:
        """Drop the scheduler's claim events of the attempts that have ended, and the stop
        events of those that were stopped (only a set event exists there). Done at the next
        poll, once the engine has acted on their exits, so these round trips do not stand
        between one job's end and the next job's start."""
        with contextlib.suppress(Exception):
            for key in self._ended_keys:
                Event(_name("claim", self.run, key), client=self.client).clear()
                if key in self._stopped:
                    Event(_name("stop", self.run, key), client=self.client).clear()
                    self._stopped.discard(key)
        self._ended_keys.clear()

    def shutdown(self) -> None:
        """Stop every attempt, wait for the workers to end them, then close the client
        (and the cluster tunelab started)."""
        for key in list(self._futures):
            self.stop(key)
        end = time.monotonic() + 2 * self.grace_period + 5
        while self._futures and time.monotonic() < end:
            for key in [k for k, f in self._futures.items() if f.done()]:
                self._futures.pop(key)
            time.sleep(0.05)
        for future in self._futures.values():
            future.cancel()
        self._futures.clear()
        self._forget_ended()
        if self.cluster is None:  # an outside scheduler and workers outlive the run: release what it holds there
            with contextlib.suppress(Exception):
                self.client.run(forget_run, self.run)
                self._queue.close()
                self._beat.delete()
                Semaphore(name=_name("slots", self.run), scheduler_rpc=self.client.scheduler,
                          loop=self.client.loop).close()
        with contextlib.suppress(Exception):
            self.client.close()
            if self.cluster is not None:
                # a worker slow to exit on a loaded machine is killed by its nanny, which
                # warns; these are tunelab's own workers, ended on purpose, with no job left
                logging.getLogger("distributed.nanny").setLevel(logging.ERROR)
                self.cluster.close()


def connect(scheduler: str | None, cluster: dict[str, Any] | None, worker_timeout: float, slots: int,
            grace_period: float = 5.0, lapse: float = LAPSE,
            resources: dict[str, float] | None = None) -> DaskExecutor:
    """A :class:`DaskExecutor` running ``slots`` trials at once on the scheduler at
    ``scheduler``, or on a cluster started from ``cluster`` (``{"kind": ..., **keyword
    arguments}``), once a worker is up.

    Raises:
        UserError: the scheduler cannot be reached, the cluster cannot start, or no worker
            came up within ``worker_timeout`` seconds.
    """
    started = None
    field = "resource_args.scheduler" if scheduler else "resource_args.cluster"
    try:
        if scheduler:
            client = Client(scheduler, timeout=worker_timeout)
        else:
            started = _start_cluster(dict(cluster or {}))
            client = Client(started, timeout=worker_timeout)
    except UserError:
        raise
    except (OSError, TimeoutError, ValueError, TypeError, RuntimeError) as exc:  # RuntimeError: a cluster's start
        what = f"cannot reach the Dask scheduler at {scheduler}" if scheduler else \
            f"cannot start the {cluster.get('kind')!r} cluster"
        raise UserError(f"{field}: {what} ({_one_line(exc)}); check the address and that `dask scheduler` runs "
                        f"there" if scheduler else f"{field}: {what} ({_one_line(exc)}); see docs/cluster.md") \
            from None
    try:
        client.wait_for_workers(1, timeout=worker_timeout)
    except (TimeoutError, OSError) as exc:
        with contextlib.suppress(Exception):
            client.close()
            if started is not None:
                started.close()
        raise UserError(f"{field}: no Dask worker came up within resource_args.worker_timeout={worker_timeout:g}s "
                        f"({_one_line(exc)}); start workers (`dask worker ADDRESS`) or raise worker_timeout") \
            from None
    return DaskExecutor(client, slots, started, grace_period, lapse, resources)


def _start_cluster(options: dict[str, Any]) -> Any:
    kind = options.pop("kind", "local")
    with dask.config.set(STARTED_CLUSTER):
        if kind == "local":
            from distributed import LocalCluster

            # ":0": a free port for the scheduler's HTTP server, so another cluster on this
            # machine (holding Dask's default 8787) brings no warning into the run's output
            options = {"threads_per_worker": 1, "dashboard_address": ":0", **options}
            return LocalCluster(**options)
        if kind == "ssh":
            from distributed import SSHCluster

            _quiet_ssh()
            return SSHCluster(**options)
        jobs = int(options.pop("jobs", 1))
        cluster = jobqueue_cluster(kind, options)
    cluster.scale(jobs=jobs)
    return cluster


def _quiet_ssh() -> None:
    """Keep an SSH cluster's start to tunelab's own lines: asyncssh warns about DSA keys
    at import, and Dask's SSH deployment logs every remote process's output at INFO."""
    warnings.filterwarnings("ignore", module=r"asyncssh(\.|$)")
    for name in ("distributed.deploy.ssh", "distributed.deploy.spec", "asyncssh"):
        logging.getLogger(name).setLevel(logging.ERROR)


def jobqueue_cluster(kind: str, options: dict[str, Any]) -> Any:
    """A dask-jobqueue cluster of ``kind``, not yet scaled; ``options`` go to its constructor
    (``cores``, ``memory``, ``queue``, ``walltime``, ``job_extra_directives``, ...).

    ``resource_args.cluster.jobs`` (default 1) says how many batch jobs to submit.
    """
    try:
        import dask_jobqueue
    except ImportError:
        raise UserError(f"resource_args.cluster.kind: {kind!r} needs dask-jobqueue; "
                        f"run `pip install \"tunelab[dask]\"`") from None
    with dask.config.set(STARTED_CLUSTER):
        return getattr(dask_jobqueue, f"{kind.upper()}Cluster")(**options)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
