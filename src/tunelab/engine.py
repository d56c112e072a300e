"""The coordinator loop: asks the search, runs jobs, records every event, stops, retries.

The engine is the only writer of storage while an experiment runs. It commits each
result before acting on it, so a killed coordinator loses nothing finished, and
:meth:`Engine.run` on an existing experiment continues where it stopped.
"""

from __future__ import annotations

import hashlib
import math
import os
import shutil
import socket
import statistics
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from tunelab import _interrupts as interrupts
from tunelab import _protocol as protocol
from tunelab import storage as st
from tunelab._owner import BEAT_INTERVAL, describe, new_owner, owner_gone
from tunelab.exceptions import UserError
from tunelab.executors import EXIT, REPORT, STARTED, Event, Executor, Launch, Numbered, Salvage, rank, salvage
from tunelab.objectives import MissingObjective, losses_of, objective_values
from tunelab.pareto import front_mask
from tunelab.proposers import JobView, Proposal, Search, sign_of
from tunelab.spec import BUDGET_NAME_KEY, ExperimentSpec

REQUEST_INTERVAL = 0.5
"""Seconds between two looks at the request inbox."""
MAX_LOST = 3
"""Lost attempts of one job (its worker died) after which the loss counts as a failure."""

PARENT = "parent"
"""Key of a proposal's ``info`` naming the job number whose checkpoint the job starts
from (population-based training); its presence gives the job a checkpoint folder of its own."""

SHORT_JOB = 10.0
"""Seconds: while the recent attempts ran shorter than this (median), the engine keeps the
jobs an executor can hold waiting (:attr:`~tunelab.executors.Executor.ahead`) submitted, so
a slot never waits on the coordinator to start the next job. Longer jobs lose too little
to that wait to be worth proposing early: a proposer then sees only the jobs that run."""
RECENT = 16
"""How many of the last attempts' run times decide whether jobs are short."""

NO_RESULT = ("no result: the job ended without reporting a value; call tunelab.trial.report(value) "
             "or print '#Auptimizer:<value>'")


@dataclass
class _Active:
    """An attempt in flight."""

    job_id: int
    attempt_id: int
    attempt_number: int
    slot: int
    final: protocol.Report | None = None
    final_seq: int = 0
    extra: dict[str, float] = field(default_factory=dict)
    stop_requested: bool = False
    stop_reason: str = "stopped early"
    started: float | None = None
    """When its trial started (monotonic clock); None while it waits for a slot."""


class _Result(NamedTuple):
    """What an attempt's reports amount to: ``error`` is None when it counts as finished;
    ``objectives`` holds every objective's value when there are several (kept apart
    from ``extra``)."""

    value: float | None
    extra: dict[str, float]
    error: str | None = None
    objectives: dict[str, float] | None = None


@dataclass
class Outcome:
    """How a run ended: ``status`` of the experiment and a one-line ``message``."""

    status: str
    message: str


class Engine:
    """Runs one experiment to its end (or until interrupted).

    Args:
        storage: where everything is recorded.
        experiment: the stored experiment.
        spec: its spec.
        executor: runs the attempts.
        search: the proposer wrapped with initial configs and history replay.
        stopper: optional early-stopping rule (``decide(job, history)``).
        root: folder for job folders, checkpoints and models.
        on_change: called after each event with the engine (for progress displays).
    """

    def __init__(self, storage: st.Storage, experiment: st.Experiment, spec: ExperimentSpec,
                 executor: Executor, search: Search, *, stopper: Any = None, root: Path,
                 on_change: Callable[[Engine], None] | None = None) -> None:
        self.storage = storage
        self.experiment = experiment
        self.spec = spec
        self.executor = executor
        self.search = search
        self.stopper = stopper
        self.root = root
        self.on_change = on_change
        self.sign = sign_of(spec.main_target)
        self.objectives = [o.name for o in spec.objectives or []]
        self.signs = [sign_of(o.target) for o in spec.objectives or []]
        self.folder_key = _folder_key(experiment)
        self.slots = self._slots()
        self.free_slots = list(range(len(self.slots)))
        self.run_times: deque[float] = deque(maxlen=RECENT)
        self.active: dict[int, _Active] = {}
        self.views: dict[int, JobView] = {}
        self.ids: dict[int, int] = {}
        self.queue: list[st.Job] = []
        self.n_jobs = 0
        self.waiting = False
        self.started = time.monotonic()
        self.best: tuple[float, int] | None = None
        self.counts = {s: 0 for s in (st.FINISHED, st.FAILED, st.STOPPED)}
        self.without_result = 0
        self.host = socket.gethostname()
        self.owner = new_owner()
        self.inbox = st.Inbox(storage)
        self.draining: str | None = None
        self.failure: Outcome | None = None
        self.last_beat = self.last_look = 0.0

    # Set-up ------------------------------------------------------------------------
    def _slots(self) -> list[dict[str, Any]]:
        args = self.spec.resource_args
        if self.spec.resource != "gpu":
            return [{"slot": i} for i in range(self.spec.n_parallel + self.executor.ahead)]
        gpus = args.gpus or visible_gpus()
        if not gpus:
            raise UserError("resource_args.gpus: empty and no GPU found; list GPU ids like [0, 1] "
                            "or use resource \"cpu\"")
        per = args.gpus_per_job
        groups = [gpus[i:i + per] for i in range(0, len(gpus) - per + 1, per)]
        return [{"slot": i, "gpus": g} for i, g in enumerate(groups[:self.spec.n_parallel])]

    def _restore(self) -> None:
        jobs = self.storage.jobs(self.experiment.id)
        history = [j for j in jobs if not j.info.get("save_model")]
        self.n_jobs = len(history)
        for job in history:
            self.ids[job.number] = job.id
            if job.status in (st.RUNNING, st.PENDING):
                job = self._recover(job)
            self.views[job.id] = self._view(job)
            if job.status in st.TERMINAL:
                self._count(job.status, job.value, job.id)
            else:
                self.queue.append(job)
        self.search.preload(self._prior_history())
        self.search.restore(self.views.values())

    def _prior_history(self) -> list[JobView]:
        """Finished jobs of ``history_from`` experiments whose configs fit this space."""
        views = []
        for ref in self.spec.history_from:
            source = self.storage.experiment(ref)
            for job in self.storage.jobs(source.id, details=False):
                if job.status != st.FINISHED or job.value is None:
                    continue
                try:
                    config = self.search.space.validate(job.config)
                except UserError:
                    continue
                views.append(JobView(-1 - len(views), config, st.FINISHED, self.sign * job.value, job.budget,
                                     losses=self._losses(job.objectives)))
        return views

    def _recover(self, job: st.Job) -> st.Job:
        """A job left running by a coordinator that died: record everything its attempt
        reported (each intermediate value once, by its ``seq``), and its result if it has one.

        Idempotent: a resume killed half-way through is redone by the next one.
        """
        attempt = job.attempts[-1] if job.attempts else None
        if attempt is None or attempt.status != st.RUNNING:
            return job
        labels = self.spec.resource_args.multi_res_labels
        found = salvage(Path(attempt.folder), labels, self.spec.tracks_printed_results) if attempt.folder \
            else Salvage()
        for numbered in found.intermediate:
            report = numbered.report
            self.storage.add_intermediate(job.id, attempt.id, numbered.seq, report.step, report.value)
        final = found.final.report if found.final else None
        result = self._result(final, found.extra)
        if result.error is None:
            self.storage.end_attempt(job.id, attempt.id, job_status=st.FINISHED, attempt_status=st.FINISHED,
                                     value=result.value, extra=result.extra, objectives=result.objectives)
        else:
            self.storage.end_attempt(job.id, attempt.id, job_status=st.PENDING, attempt_status=st.CANCELLED,
                                     error="interrupted: the coordinator stopped")
        return self.storage.job(job.id)

    def _view(self, job: st.Job) -> JobView:
        loss = None if job.value is None else self.sign * job.value
        inter = [(step, self.sign * value) for step, value in job.intermediate]
        if job.status == st.STOPPED and loss is None and inter:
            loss = inter[-1][1]
        status = job.status if job.status in st.TERMINAL else "running"
        return JobView(job.number, job.config, status, loss, job.budget, inter, job.info,
                       self._losses(job.objectives))

    def _losses(self, objectives: dict[str, float] | None) -> tuple[float, ...] | None:
        return losses_of(objectives, self.objectives, self.signs) if self.objectives else None

    def _result(self, final: protocol.Report | None, extra: dict[str, float], *, exited: bool = False) -> _Result:
        """What an attempt that ended by itself with these reports recorded.

        ``exited``: the attempt's process ended cleanly; without ``require_result`` it then
        finishes with no result when it reported nothing (a cancelled or recovered attempt
        without a report is never finished).
        """
        value = final.value if final else None
        if final is None and exited and not self.spec.require_result:
            return _Result(None, extra)
        if final is None or value is None and not self.objectives:
            return _Result(value, extra, NO_RESULT)
        if not self.objectives:
            bad = None if math.isfinite(value) else f"bad result: the job reported {value!r}, not a finite number"
            return _Result(value, extra, bad)
        try:
            values = objective_values(self.objectives, value, extra)
        except MissingObjective as exc:
            return _Result(value, extra, str(exc))
        others = {k: v for k, v in extra.items() if k not in values}
        return _Result(values[self.objectives[0]], others, None, values)

    # The loop ----------------------------------------------------------------------
    def run(self) -> Outcome:
        """Run until ``n_samples`` jobs ended, the search is exhausted, ``max_duration``
        passed, a job failed without ``ignore_fail``, or a stop was requested.

        Raises:
            UserError: another engine is running the experiment.
        """
        self._claim()
        try:
            self._outlive_old_trials()
            self._restore()
            try:
                with interrupts.deferred() as interrupted:
                    outcome = self._loop(interrupted)
            except KeyboardInterrupt:  # a second Ctrl-C: at once
                outcome = self._interrupt()
            finally:
                self.executor.shutdown()
            if outcome.status == st.FINISHED and self.spec.resource_args.save_model and self.best:
                self._save_model()
            self.storage.set_experiment_status(self.experiment.id, outcome.status, outcome.message)
        finally:
            self.storage.release(self.experiment.id, self.owner)
        return outcome

    def _outlive_old_trials(self) -> None:
        """After a coordinator that died without letting go (kill -9) while its jobs ran on
        Dask workers, wait until those workers have stopped its trials by themselves (they
        do ``resource_args.lapse`` seconds after its last heartbeat, then the stop sequence),
        so that no job runs twice at once. A local cluster's workers died with it: no wait."""
        beat, cluster = self.experiment.beat, self.spec.resource_args.cluster
        if self.spec.resource != "dask" or beat is None or cluster and cluster.get("kind", "local") == "local":
            return
        grace = self.spec.runtime_args.grace_period
        time.sleep(max(self.spec.resource_args.lapse + 2 * BEAT_INTERVAL + 2 * grace + 1 - (time.time() - beat), 0))

    def _claim(self) -> None:
        other = self.storage.claim(self.experiment.id, self.owner, owner_gone)
        if other is not None:
            raise UserError(f"experiment {other.name!r} is being run by another tunelab "
                            f"({describe(other.owner, other.beat)}); stop it with `tunelab stop {other.name}` "
                            f"or wait for it to end")

    def _target_jobs(self) -> float:
        return self.spec.n_samples if self.spec.n_samples else math.inf

    def _interrupt(self) -> Outcome:
        self._cancel_active("interrupted by the user")
        return Outcome("interrupted", f"interrupted; continue with `tunelab resume {self.experiment.name}`")

    def _loop(self, interrupted: Callable[[], bool]) -> Outcome:
        max_duration = self.spec.max_duration
        while True:
            if interrupted():
                return self._interrupt()
            failure = self._fill()
            if failure:
                return failure
            if not self.active:
                if self.failure:
                    return self.failure
                if self.draining:
                    return Outcome(st.STOPPED, f"{self.draining}: {self._summary()}")
                if self.n_jobs >= self._target_jobs() or self.search.exhausted:
                    return Outcome(st.FINISHED, f"done: {self._summary()}")
                if not self.queue:
                    return Outcome(st.FINISHED, f"the proposer has nothing more to propose: {self._summary()}")
            if max_duration and time.monotonic() - self.started > max_duration:
                self._cancel_active(f"max_duration={max_duration:g}s reached")
                return self.failure or Outcome(st.FINISHED, f"max_duration reached: {self._summary()}")
            wait = 0.0 if self._room() > 0 and self._can_propose() and not self.waiting else 0.5
            events = self.executor.poll(wait)
            self.waiting = self.waiting and not events
            for event in events:
                failure = self._handle(event)
                if failure and not self.failure:
                    self._drain_after(failure)
            stop = self._tick()
            if stop:
                return stop
            if self.on_change:
                self.on_change(self)

    def _tick(self) -> Outcome | None:
        """Heartbeat, and the requests sent from outside (``tunelab stop``, the dashboard)."""
        now = time.monotonic()
        if now - self.last_beat >= BEAT_INTERVAL:
            self.storage.beat(self.experiment.id, self.owner)
            self.last_beat = now
        if now - self.last_look < REQUEST_INTERVAL:
            return None
        self.last_look = now
        for request in self.inbox.open(self.experiment.id):
            self.inbox.close(request.id, self._answer(request))
            if request.kind == st.STOP_EXPERIMENT and request.payload.get("mode") == "cancel":
                self._cancel_active("stopped on request")
                return Outcome(st.STOPPED, f"stopped on request, running jobs cancelled: {self._summary()}")
        return None

    def _answer(self, request: st.Request) -> str:
        """Act on one request; the answer the sender sees."""
        if request.kind == st.STOP_JOB:
            return self._stop_job(request.target)
        if request.kind == st.SCORE_JOB:
            return self._score_job(request.target, request.payload["value"])
        return self._stop_experiment(request.payload.get("mode", "drain"))

    def _score_job(self, job_id: int | None, value: float) -> str:
        active = next((a for a in self.active.values() if a.job_id == job_id), None)
        if active is None:
            return f"job {job_id} is not running; no score recorded"
        if not self.executor.take_score(active.attempt_id, value):
            return f"job {job_id} runs a script that reports its own result; scores by hand are for resource passive"
        return f"recorded {value:g} for job {job_id}"

    def _stop_job(self, job_id: int | None) -> str:
        active = next((a for a in self.active.values() if a.job_id == job_id), None)
        if active is None:
            return f"job {job_id} is not running"
        if not active.stop_requested:
            active.stop_requested, active.stop_reason = True, "stopped on request"
            self.executor.stop(active.attempt_id)
        return f"stopping job {job_id}"

    def _stop_experiment(self, mode: str) -> str:
        if mode == "cancel":
            return f"cancelling {len(self.active)} running jobs and stopping"
        self.draining = "stopped on request after the running jobs ended"
        return f"no new jobs; stopping when the {len(self.active)} running jobs end"

    def _drain_after(self, failure: Outcome) -> None:
        """A job failed for good without ``ignore_fail``: propose nothing more, but let the
        running jobs end and record them, retries of their failures included (as Auptimizer
        does); each is still bounded by ``job_timeout``, and Ctrl-C or SIGTERM still cancels
        them at once."""
        self.failure = failure
        self.draining = "stopped after a job failure"

    def _can_propose(self) -> bool:
        return not self.draining and (
            bool(self.queue) or (self.n_jobs < self._target_jobs() and not self.search.exhausted))

    def _room(self) -> int:
        """How many more attempts to submit now: free slots, less the executor's waiting
        places (:attr:`~tunelab.executors.Executor.ahead`) unless jobs are short."""
        short = len(self.run_times) > 0 and statistics.median(self.run_times) < SHORT_JOB
        return len(self.free_slots) - (0 if short else self.executor.ahead)

    def _fill(self) -> Outcome | None:
        if self.draining and not self.failure:
            return None
        while self.queue and self._room() > 0:
            job = self.queue.pop(0)
            self._launch(job, len(job.attempts) + 1)
        if self.draining:
            return None
        free = min(self._room(), self._target_jobs() - self.n_jobs)
        if free <= 0 or self.search.exhausted or self.waiting:
            return None
        running = [self.views[a.job_id] for a in self.active.values()]
        proposals = self.search.ask(int(free), running)
        self.waiting = len(proposals) < free
        for proposal in proposals:
            job = self._record(proposal)
            self._launch(job, 1)
        return None

    def _record(self, proposal: Proposal) -> st.Job:
        number = self.n_jobs
        parent = proposal.info.get(PARENT)
        parent_id = None if parent is None else self.ids[parent]
        job_id = self.storage.add_job(self.experiment.id, number, proposal.config, proposal.budget, proposal.info,
                                      parent_id)
        self.n_jobs += 1
        self.ids[number] = job_id
        job = st.Job(job_id, self.experiment.id, number, proposal.config, proposal.budget, st.PENDING, None, {},
                     proposal.info, None, time.time(), None, parent_id=parent_id)
        view = JobView(number, proposal.config, "running", None, proposal.budget, [], proposal.info)
        self.views[job_id] = view
        self.search.started(view)
        return job

    def _launch(self, job: st.Job, attempt_number: int, extra_config: dict[str, Any] | None = None) -> None:
        slot = self._pick_slot(job)
        resource = self.slots[slot]
        folder = self.root / "jobs" / self.folder_key / f"job-{job.id}" / f"attempt-{attempt_number}"
        attempt_id = self.storage.start_attempt(job.id, attempt_number, resource, str(folder), self.host)
        self.active[attempt_id] = _Active(job.id, attempt_id, attempt_number, slot)
        config = dict(job.config)
        env = dict(self.spec.runtime_args.env)
        env[protocol.ENV_JOB_ID] = str(job.id)
        env[protocol.ENV_EXPERIMENT] = self.experiment.name
        if self.objectives:
            env[protocol.ENV_OBJECTIVES] = ",".join(self.objectives)
        env[protocol.ENV_CHECKPOINT_DIR] = str(self._checkpoint_dir(job))
        if job.budget is not None:
            config[self.spec.proposer_args.get(BUDGET_NAME_KEY, "n_iterations")] = _budget_value(job.budget)
            env[protocol.ENV_BUDGET] = repr(job.budget)
        if "gpus" in resource:
            env["CUDA_VISIBLE_DEVICES"] = ",".join(str(g) for g in resource["gpus"])
        config.update(extra_config or {})
        if extra_config and "folder_name" in extra_config:
            env[protocol.ENV_MODEL_DIR] = extra_config["folder_name"]
        launch = Launch(attempt_id, config, folder, argv=self._argv(config, folder), cwd=self.spec.workingdir,
                        env=env, timeout=self.spec.job_timeout, labels=self.spec.resource_args.multi_res_labels,
                        track=self.spec.tracks_printed_results, function=self.spec.function)
        if job.id in self.views:
            self.views[job.id].intermediate.clear()  # the curve is the new attempt's, the one that counts
        self.executor.submit(launch)

    def _checkpoint_dir(self, job: st.Job) -> Path:
        """The job's checkpoint folder: the config's, shared by its budgets; under a
        population (``info`` names a ``parent``), the job's own, seeded before every
        attempt with a fresh copy of the parent job's folder."""
        base = self.root / "checkpoints" / self.folder_key
        if PARENT not in job.info:
            return base / _config_hash(job.config)
        folder = base / f"job-{job.id}"
        shutil.rmtree(folder, ignore_errors=True)
        source = base / f"job-{job.parent_id}"
        if job.parent_id is not None and source.is_dir():
            shutil.copytree(source, folder)
        return folder

    def _pick_slot(self, job: st.Job) -> int:
        used = {a.resource.get("slot") for a in job.attempts}
        for slot in self.free_slots:
            if slot not in used:
                self.free_slots.remove(slot)
                return slot
        return self.free_slots.pop(0)

    def _argv(self, config: dict[str, Any], folder: Path) -> list[str] | None:
        config_path = str(folder / "config.json")
        if self.spec.command:
            values = {k: str(v) for k, v in config.items()}
            values["config"] = config_path
            return [_expand(arg, values) for arg in self.spec.command]
        if self.spec.script:
            script = self.spec.script
            if script.endswith(".py"):
                return [sys.executable, script, config_path]
            return [script if os.path.dirname(script) else os.path.join(".", script), config_path]  # in workingdir
        return None

    # Events ------------------------------------------------------------------------
    def _handle(self, event: Event) -> Outcome | None:
        active = self.active.get(event.key)
        if active is None:
            return None
        if event.kind == REPORT:
            self._on_report(active, Numbered(event.report_seq, event.report))
        elif event.kind == STARTED:
            active.started = time.monotonic()
            if event.host:
                self.storage.attempt_started(active.attempt_id, event.host)
        elif event.kind == EXIT:
            return self._on_exit(active, event)
        return None

    def _on_report(self, active: _Active, numbered: Numbered) -> None:
        report = numbered.report
        active.extra.update(report.extra)
        if report.kind == "final":
            if active.final is None or rank(numbered.seq) > rank(active.final_seq):
                active.final, active.final_seq = report, numbered.seq
        elif report.kind == "intermediate":
            if not self.storage.add_intermediate(active.job_id, active.attempt_id, numbered.seq, report.step,
                                                 report.value):
                return
            view = self.views[active.job_id]
            view.intermediate.append((report.step, self.sign * report.value))
            if self.stopper is not None and not active.stop_requested:
                decision = self.stopper.decide(view, list(self.views.values()))
                if getattr(decision, "name", "") == "STOP":
                    active.stop_requested = True
                    self.executor.stop(active.attempt_id)

    def _on_exit(self, active: _Active, event: Event) -> Outcome | None:
        del self.active[event.key]
        self.free_slots.append(active.slot)
        if active.started is not None:
            self.run_times.append(time.monotonic() - active.started)
        view = self.views[active.job_id]
        final = active.final
        if active.stop_requested and event.error is None or active.stop_requested and final is None:
            value = final.value if final else None
            self.storage.end_attempt(active.job_id, active.attempt_id, job_status=st.STOPPED,
                                     attempt_status=st.STOPPED, value=value, extra=active.extra,
                                     error=active.stop_reason)
            view.status, view.loss = st.STOPPED, (self.sign * value if value is not None
                                                  else view.intermediate[-1][1] if view.intermediate else None)
            return self._ended(active.job_id, view, st.STOPPED, value)
        if event.lost:
            return self._lost(active, view, event.error or "lost")
        result = self._result(final, active.extra, exited=event.error is None)
        error = event.error or result.error
        if error is None:
            self.storage.end_attempt(active.job_id, active.attempt_id, job_status=st.FINISHED,
                                     attempt_status=st.FINISHED, value=result.value, extra=result.extra,
                                     objectives=result.objectives)
            view.status = st.FINISHED
            view.loss = None if result.value is None else self.sign * result.value
            view.losses = self._losses(result.objectives)
            return self._ended(active.job_id, view, st.FINISHED, result.value)
        return self._failed(active, view, error)

    def _lost(self, active: _Active, view: JobView, error: str) -> Outcome | None:
        """The machine running the attempt went away: run it again elsewhere, without
        spending ``job_retries``, unless it was lost ``MAX_LOST`` times already."""
        lost = sum(a.status == st.LOST for a in self.storage.job(active.job_id).attempts)
        if lost + 1 >= MAX_LOST:
            return self._failed(active, view, f"{error} (lost {MAX_LOST} times)")
        self.storage.end_attempt(active.job_id, active.attempt_id, job_status=st.PENDING,
                                 attempt_status=st.LOST, error=error)
        self.queue.insert(0, self.storage.job(active.job_id))
        return None

    def _failed(self, active: _Active, view: JobView, error: str) -> Outcome | None:
        retries = self.spec.job_failure.job_retries
        job = self.storage.job(active.job_id)
        if active.attempt_number - sum(a.status == st.LOST for a in job.attempts) <= retries:
            self.storage.end_attempt(active.job_id, active.attempt_id, job_status=st.PENDING,
                                     attempt_status=st.FAILED, error=error)
            self.queue.insert(0, self.storage.job(active.job_id))
            return None
        self.storage.end_attempt(active.job_id, active.attempt_id, job_status=st.FAILED,
                                 attempt_status=st.FAILED, error=error)
        view.status, view.loss = st.FAILED, None
        self._ended(active.job_id, view, st.FAILED, None)
        if self.spec.job_failure.ignore_fail:
            return None
        return Outcome(st.FAILED, f"job {active.job_id} (#{view.number}) failed: {error} "
                                  f"(set job_failure.ignore_fail to go on after failures)")

    def _ended(self, job_id: int, view: JobView, status: str, value: float | None) -> None:
        self._count(status, value, job_id)
        self.search.ended(view)

    def _count(self, status: str, value: float | None, job_id: int) -> None:
        self.counts[status] = self.counts.get(status, 0) + 1
        self.without_result += status == st.FINISHED and value is None
        if status == st.FINISHED and value is not None and math.isfinite(value):
            loss = self.sign * value
            if self.best is None or (loss, job_id) < self.best:  # ties: the earlier job, as in results
                self.best = (loss, job_id)

    def _cancel_active(self, reason: str) -> None:
        for event in self.executor.poll(0):
            if event.kind == REPORT:
                self._handle(event)
        for key in list(self.active):
            self.executor.stop(key)
        self.executor.shutdown()
        for active in list(self.active.values()):
            if self._result(active.final, active.extra).error is None:
                self._on_exit(active, Event(active.attempt_id, EXIT))
            else:
                self.storage.end_attempt(active.job_id, active.attempt_id, job_status=st.PENDING,
                                         attempt_status=st.CANCELLED, error=reason)
        self.active.clear()

    def _save_model(self) -> None:
        best_job = self.storage.job(self.best[1])
        model_dir = self.root / "models" / self.folder_key
        model_dir.mkdir(parents=True, exist_ok=True)
        info: dict[str, Any] = {"save_model": True, "model_dir": str(model_dir), "source_job": best_job.id}
        parent_id = None
        if PARENT in best_job.info:  # a population member: start from its checkpoint, not from scratch
            info[PARENT], parent_id = best_job.number, best_job.id
        job_id = self.storage.add_job(self.experiment.id, self.n_jobs, best_job.config, best_job.budget, info,
                                      parent_id)
        job = self.storage.job(job_id)
        self.free_slots = list(range(len(self.slots)))
        self._launch(job, 1, {"save_model": True, "folder_name": str(model_dir)})
        while self.active:
            for event in self.executor.poll(0.5):
                active = self.active.get(event.key)
                if active and event.kind == REPORT:
                    active.final = event.report if event.report.kind == "final" else active.final
                elif active and event.kind == EXIT:
                    del self.active[event.key]
                    ok = event.error is None
                    self.storage.end_attempt(job_id, active.attempt_id,
                                             job_status=st.FINISHED if ok else st.FAILED,
                                             attempt_status=st.FINISHED if ok else st.FAILED,
                                             value=active.final.value if active.final else None, error=event.error)
        self.executor.shutdown()

    def _summary(self) -> str:
        parts = [f"{self.counts.get(st.FINISHED, 0)} finished"]
        if self.without_result:
            parts[0] += f" ({self.without_result} without a result)"
        for status in (st.FAILED, st.STOPPED):
            if self.counts.get(status):
                parts.append(f"{self.counts[status]} {status}")
        if self.objectives:
            losses = [v.losses for v in self.views.values() if v.status == st.FINISHED and v.losses]
            parts.append(f"{int(front_mask(losses).sum()) if losses else 0} on the Pareto front")
        elif self.best:
            parts.append(f"best {self.sign * self.best[0]:.6g} (job {self.best[1]})")
        return ", ".join(parts)


def _expand(arg: str, values: dict[str, str]) -> str:
    """Replace ``{name}`` placeholders inside one argv element (never split, never a shell)."""
    for name, value in values.items():
        arg = arg.replace("{" + name + "}", value)
    return arg


def _folder_key(experiment: st.Experiment) -> str:
    """The experiment's folder name under ``jobs/``, ``checkpoints/`` and ``models/``: its
    name and creation time, so experiments of the same name in other databases never share."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in experiment.name).strip("._") or "experiment"
    while len(safe.encode("utf-8")) > _FOLDER_BYTES:  # file systems allow 255 bytes a name
        safe = safe[:-1]
    return f"{safe}-{time.strftime('%Y%m%d-%H%M%S', time.localtime(experiment.created))}"


_FOLDER_BYTES = 120
"""Most bytes of an experiment's name kept in its folder name."""


def _config_hash(config: dict[str, Any]) -> str:
    from tunelab.space import json_key

    return hashlib.sha1(json_key(config).encode()).hexdigest()[:12]


def _budget_value(budget: float) -> float | int:
    return int(budget) if float(budget).is_integer() else budget


def visible_gpus() -> list[int]:
    """GPU ids this process may hand out: ``$CUDA_VISIBLE_DEVICES``."""
    raw = os.environ.get("CUDA_VISIBLE_DEVICES", "")
    return [int(x) for x in raw.split(",") if x.strip().isdigit()]
