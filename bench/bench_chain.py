"""Whole credit-hour chains through the service layer, on SQLite and PostgreSQL, against raw SpiffWorkflow.

A chain is four steps, each one "request": ``services.start_process`` by the applicant
(chenshihui), then ``services.complete_task(..., {"outcome": "approve"})`` by hospital_admin
(unit), health_admin (supervisory department) and hr_city (HR bureau; its service task records
the recognised credit hours). Each step is timed from the service call to the end of its commit,
as a view does it; what a request does before the view body runs (loading the signed-in user and
their memberships, reading the task id from the URL) happens untimed, in a fresh session.

The raw figures run the same BPMN (processes/credit_hour_approval.bpmn) in memory with
SpiffWorkflow alone and ``serialize_json`` / ``deserialize_json`` around every step, as in
/work/shared/research/spiff_engine/bench_engine.py: (b1) the library's default serializer with
the spec embedded in every instance, (b2) the spec stored once and referenced (what the app does).

    .venv/bin/python -m bench.bench_chain [N] [--db sqlite|postgres|both] [--pg-url URL] [--reps 3]

Repetitions are interleaved (raw, SQLite, PostgreSQL, raw, ...) so a busy machine slows every
figure alike; figures are medians. Prints figures and targets only; it never asserts timings.
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.spiff.parser import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import create_engine, event, func, select
from sqlalchemy.engine import Engine

from app.accounts.actor import Actor
from app.accounts.models import User
from app.archive.models import CreditRecord
from app.core.auth import load_user
from app.extensions import db
from app.workflow import engine, services
from app.workflow.models import COMPLETED, ProcessInstance, WorkflowTask
from app.workflow.versions import PROCESSES_DIR
from bench._common import (
    DECLARATION,
    DEFAULT_PG_URL,
    QueryCounter,
    app_on,
    ensure_pg_database,
    machine_line,
    make_app,
    median,
    spread,
)

KEY = "credit_hour_approval"
STEPS = 4
APPLICANT = "chenshihui"
REVIEWERS = ("hospital_admin", "health_admin", "hr_city")
APPROVE = {"outcome": "approve"}
TARGET_RATIO = 3.0
TARGET_PG_RATE = 100.0
#: How many chains the database holds as ended approved.
APPROVED_CHAINS = select(func.count()).select_from(ProcessInstance).where(
    ProcessInstance.status == COMPLETED, ProcessInstance.outcome == "approved")


@dataclass
class Result:
    label: str
    n: int
    #: seconds per repetition: whole chain, start steps only, approval steps only
    total: list[float] = field(default_factory=list)
    start: list[float] = field(default_factory=list)
    approve: list[float] = field(default_factory=list)
    #: CPU seconds of this process per repetition (the database server's time is not in it)
    cpu: list[float] = field(default_factory=list)
    queries: int | None = None

    @property
    def rate(self) -> float:
        return self.n / median(self.total)

    @property
    def ms_chain(self) -> float:
        return median(self.total) / self.n * 1e3

    @property
    def ms_step(self) -> float:
        return self.ms_chain / STEPS

    @property
    def best_rate(self) -> float:
        return self.n / min(self.total)

    @property
    def cpu_ms_chain(self) -> float:
        return median(self.cpu) / self.n * 1e3


# --------------------------------------------------------------------------- the app, through the service layer


class AppChains:
    """Chains on one app; every step runs in a fresh session, as one request would."""

    def __init__(self, label: str, app: Flask, sqlite_wal: bool = False, applicant: str = APPLICANT) -> None:
        self.label = label
        self.app = app
        with app.app_context():
            if sqlite_wal and db.engine.dialect.name == "sqlite":
                _use_wal(db.engine)
            # what each user's signed session holds (Flask-Login's user id: the id and its stamp)
            ids = {u.login: u.get_id() for u in db.session.scalars(
                select(User).where(User.login.in_((applicant, *REVIEWERS))))}
            db.session.remove()
        self.applicant_id = ids[applicant]
        self.reviewer_ids = [ids[login] for login in REVIEWERS]
        self.chains_run = 0

    @staticmethod
    def _request_actor(session_id: str) -> Actor:
        """What happens before a view body: a fresh session, the signed-in user and memberships."""
        db.session.remove()
        return Actor.of(load_user(session_id))

    def chain(self) -> tuple[float, float]:
        """One whole chain; returns (seconds in the start step, seconds in the three approvals)."""
        applicant = self._request_actor(self.applicant_id)
        t0 = time.perf_counter()
        instance_id = services.start_process(KEY, dict(DECLARATION), actor=applicant).id
        db.session.commit()
        started = time.perf_counter() - t0
        approving = 0.0
        for session_id in self.reviewer_ids:
            reviewer = self._request_actor(session_id)
            task_id = db.session.scalar(select(WorkflowTask.id).where(
                WorkflowTask.instance_id == instance_id, WorkflowTask.completed_at.is_(None)))
            if task_id is None:
                raise RuntimeError(f"instance {instance_id}: no open task for user {session_id}")
            t1 = time.perf_counter()
            services.complete_task(task_id, dict(APPROVE), actor=reviewer)
            db.session.commit()
            approving += time.perf_counter() - t1
        db.session.remove()
        self.chains_run += 1
        return started, approving

    def run(self, n: int) -> tuple[float, float, float]:
        with self.app.app_context():
            gc.collect()
            start = approve = 0.0
            for _ in range(n):
                s, a = self.chain()
                start += s
                approve += a
            return start + approve, start, approve

    def queries_per_chain(self) -> int:
        """SQL statements the timed part of one chain sends (commits excluded)."""
        with self.app.app_context():
            counter = QueryCounter(db.engine)
            original = self._request_actor
            untimed = 0

            def counted_actor(session_id: str) -> Actor:
                nonlocal untimed
                before = counter.count
                actor = original(session_id)
                untimed += counter.count - before
                return actor

            self._request_actor = counted_actor  # type: ignore[method-assign]
            try:
                with counter.counting():
                    self.chain()
            finally:
                del self._request_actor
            return counter.count - untimed - len(self.reviewer_ids)  # minus the task-id look-ups

    def check(self) -> None:
        """Every chain ended approved with its recognised hours in the person's archive (one process)."""
        with self.app.app_context():
            done = db.session.scalar(APPROVED_CHAINS)
            records = db.session.scalar(select(func.count()).select_from(CreditRecord).where(
                CreditRecord.source == "declaration", CreditRecord.recognised_hours == DECLARATION["hours"]))
            db.session.remove()
        if done != self.chains_run or records != self.chains_run:
            raise RuntimeError(f"{self.label}: {self.chains_run} chains run, {done} approved, "
                               f"{records} credit records")

    def close(self) -> None:
        with self.app.app_context():
            db.session.remove()
            db.engine.dispose()


def _use_wal(eng: Engine) -> None:
    """--sqlite-wal: journal_mode=WAL, synchronous=NORMAL (now the app's own default; kept for older figures)."""
    eng.dispose()

    @event.listens_for(eng, "connect")
    def _pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()


# --------------------------------------------------------------------------- raw SpiffWorkflow


class _RawScriptEngine(PythonScriptEngine):
    def call_service(self, task, **kwargs):  # type: ignore[override]  # noqa: ANN001
        return "{}"


class RawChains:
    """The same four steps with SpiffWorkflow alone; a JSON string stands for the database row."""

    def __init__(self, by_reference: bool) -> None:
        parser = SpiffBpmnParser(validator=VALIDATOR)
        parser.add_bpmn_file(str(PROCESSES_DIR / f"{KEY}.bpmn"))
        self.spec = parser.get_spec(KEY)
        self.subprocess_specs = parser.get_subprocess_specs(KEY)
        if by_reference:
            # the app's own by-reference converter (engine._SpecByReference), pointed at this spec
            self.spec.content_hash = "bench-raw"
            engine._SPECS["bench-raw"] = engine.ParsedProcess(
                key=KEY, name=KEY, content_hash="bench-raw", spec=self.spec,
                subprocess_specs=self.subprocess_specs, user_tasks={}, start=None, end_outcomes={})  # type: ignore
            self.serializer = engine._SERIALIZER
            self.label = "raw SpiffWorkflow (b2, spec by ref)"
        else:
            self.serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
            self.label = "raw SpiffWorkflow (b1, spec embedded)"
        self.script_engine = _RawScriptEngine()
        self.start_data = {
            **DECLARATION,
            "person_id_number": "110101199003072711",
            "declared_by_unit": False,
            "applicant_name": "陈诗慧",
            "lanes": {"unit": True, "supervisory_department": True, "hr_bureau": True},
        }

    def chain(self) -> str:
        wf = BpmnWorkflow(self.spec, self.subprocess_specs, script_engine=self.script_engine)
        wf.task_tree.set_data(**self.start_data)
        wf.do_engine_steps()
        row = self.serializer.serialize_json(wf)
        for _ in REVIEWERS:
            wf = self.serializer.deserialize_json(row)
            wf.script_engine = self.script_engine
            task = wf.get_next_task(state=TaskState.READY, manual=True)
            task.set_data(**APPROVE)
            task.run()
            wf.refresh_timers()
            wf.do_engine_steps()
            row = self.serializer.serialize_json(wf)
        if not wf.is_completed():
            raise RuntimeError("raw chain did not complete")
        return row

    def run(self, n: int) -> tuple[float, float, float]:
        gc.collect()
        t0 = time.perf_counter()
        for _ in range(n):
            self.chain()
        return time.perf_counter() - t0, 0.0, 0.0


# --------------------------------------------------------------------------- several processes


#: Professionals of the hospital (same chain): each worker process declares for its own one, as
#: different people do in real use (one person's approvals queue on their annual-verification row).
PARALLEL_APPLICANTS = ("chenshihui", "liuwenbin")


def _parallel_worker(pg_url: str, applicant: str, n: int, warmup: int, barrier: Any, out: Any) -> None:
    """One process: its own app and connection pool on the already-migrated database."""
    chains = AppChains(applicant, app_on(pg_url), applicant=applicant)
    chains.run(warmup)
    barrier.wait()
    t0 = time.perf_counter()
    chains.run(n)
    out.put(time.perf_counter() - t0)
    chains.close()


def run_parallel(pg_url: str, processes: int, n: int, warmup: int) -> float:
    """``processes`` processes each run ``n`` chains at once on PostgreSQL (the database made by :func:`run`);
    chains per second over the wall clock from the common start to the last one's end."""
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(processes)
    out = ctx.Queue()
    workers = [ctx.Process(target=_parallel_worker,
                           args=(pg_url, PARALLEL_APPLICANTS[i % len(PARALLEL_APPLICANTS)], n, warmup, barrier, out))
               for i in range(processes)]
    for w in workers:
        w.start()
    results = [out.get(timeout=1800) for _ in workers]
    for w in workers:
        w.join()
        if w.exitcode != 0:
            raise RuntimeError(f"a worker process failed (exit code {w.exitcode})")
    return processes * n / max(results)


def run_threads(pg_url: str, threads: int, n: int, warmup: int) -> tuple[float, float]:
    """``threads`` threads of one process each run ``n`` chains at once on PostgreSQL, as a threaded WSGI
    server runs requests; returns (chains per second over the wall clock, this process's CPU ms per chain).
    The threads share the app, its connection pool and its workflow cache; each has its own session."""
    app = app_on(pg_url)
    chains = [AppChains(f"thread {i}", app, applicant=PARALLEL_APPLICANTS[i % len(PARALLEL_APPLICANTS)])
              for i in range(threads)]
    for c in chains:
        c.run(warmup)
    barrier = threading.Barrier(threads + 1)
    errors: list[BaseException] = []

    def work(c: AppChains) -> None:
        barrier.wait()
        try:
            c.run(n)
        except BaseException as exc:  # noqa: BLE001 - reported by the caller
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(c,)) for c in chains]
    for w in workers:
        w.start()
    barrier.wait()
    t0, cpu0 = time.perf_counter(), time.process_time()
    for w in workers:
        w.join()
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    chains[0].close()
    if errors:
        raise RuntimeError(f"a thread failed: {errors[0]!r}") from errors[0]
    return threads * n / wall, cpu / (threads * n) * 1e3


def _approved(pg_url: str) -> int:
    eng = create_engine(pg_url)
    try:
        with eng.connect() as conn:
            return conn.scalar(APPROVED_CHAINS)
    finally:
        eng.dispose()


# --------------------------------------------------------------------------- report


def report(results: list[Result], raws: list[Result], skipped: list[str]) -> None:
    print()
    print(f"{'':38} {'chains/s':>9} {'best':>7} {'ms/chain':>9} {'ms/step':>8} {'start':>7} {'approve':>8} "
          f"{'CPU ms':>7} {'queries':>8} {'spread':>7}")
    print(f"{'':38} {'':>9} {'':>7} {'':>9} {'':>8} {'ms':>7} {'ms':>8} {'/chain':>7} {'/chain':>8} {'':>7}")
    for r in [*results, *raws]:
        start = f"{median(r.start) / r.n * 1e3:7.2f}" if r.start else f"{'':7}"
        approve = f"{median(r.approve) / r.n / len(REVIEWERS) * 1e3:8.2f}" if r.approve else f"{'':8}"
        queries = f"{r.queries:8d}" if r.queries is not None else f"{'':8}"
        print(f"{r.label:38} {r.rate:9.1f} {r.best_rate:7.1f} {r.ms_chain:9.2f} {r.ms_step:8.2f} {start} {approve} "
              f"{r.cpu_ms_chain:7.2f} {queries} {spread(r.total):6.1f}%")
    print("  (chains/s, ms = medians over the repetitions; best = the fastest repetition; start / approve = ms per")
    print("   start / approval step, each timed from the service call to the end of its commit; CPU = this")
    print("   process's CPU time (harness included, database server excluded); queries = SQL statements per")
    print("   chain in the timed part, commits excluded; spread = (max-min)/median of the repetitions)")
    b1, b2 = raws
    print()
    print(f"ratio service / raw per chain (target <= {TARGET_RATIO:.0f}x the raw engine with serialization, b1):")
    for r in results:
        ratio = r.ms_chain / b1.ms_chain
        mark = "meets" if ratio <= TARGET_RATIO else "MISSES"
        print(f"  {r.label:36} {ratio:5.2f}x of b1   {mark} target   ({r.ms_chain / b2.ms_chain:5.2f}x of b2; "
              f"best reps {b1.best_rate / r.best_rate:5.2f}x of b1; "
              f"CPU {r.cpu_ms_chain / b1.cpu_ms_chain:5.2f}x of b1)")
    for r in results:
        if r.label.startswith("PostgreSQL"):
            mark = "meets" if r.rate >= TARGET_PG_RATE else "MISSES"
            print(f"PostgreSQL, one process (target >= {TARGET_PG_RATE:.0f} chains/s): {r.rate:.1f} chains/s "
                  f"(best repetition {r.best_rate:.1f})   {mark} target")
    for line in skipped:
        print(line)


def run(n: int, reps: int = 3, warmup: int = 20, db_choice: str = "both", pg_url: str = DEFAULT_PG_URL,
        sqlite_wal: bool = False, out: Callable[[str], None] = print) -> tuple[list[Result], list[Result], list[str]]:
    """Run the benchmark; returns (app results, [raw b1, raw b2], skipped lines)."""
    out(machine_line())
    out(f"chains per repetition: {n}, repetitions: {reps}, warm-up chains: {warmup}, steps per chain: {STEPS}")
    skipped: list[str] = []
    tmp = Path(tempfile.mkdtemp(prefix="cepp_bench_"))
    apps: list[AppChains] = []
    try:
        if db_choice in ("sqlite", "both"):
            label = "SQLite (file, WAL, service layer)" if sqlite_wal else "SQLite (file, service layer)"
            apps.append(AppChains(label, make_app(f"sqlite:///{tmp / 'bench.sqlite3'}"), sqlite_wal))
        if db_choice in ("postgres", "both"):
            reason = ensure_pg_database(pg_url)
            if reason:
                skipped.append(f"PostgreSQL SKIPPED: not reachable at {pg_url}: {reason}")
                out(skipped[-1])
            else:
                apps.append(AppChains("PostgreSQL (service layer)", make_app(pg_url)))
        raws = [RawChains(by_reference=False), RawChains(by_reference=True)]
        results = [Result(a.label, n) for a in apps]
        raw_results = [Result(r.label, n) for r in raws]
        runners: list[tuple[Result, AppChains | RawChains]] = [
            *zip(raw_results, raws, strict=True), *zip(results, apps, strict=True)]
        for _result, runner in runners:
            runner.run(warmup)
        for result, runner in zip(results, apps, strict=True):
            result.queries = runner.queries_per_chain()
        for rep in range(reps):
            for result, runner in runners:
                cpu0 = time.process_time()
                total, start, approve = runner.run(n)
                result.cpu.append(time.process_time() - cpu0)
                result.total.append(total)
                if isinstance(runner, AppChains):
                    result.start.append(start)
                    result.approve.append(approve)
            out(f"repetition {rep + 1}/{reps}: " + ", ".join(
                f"{result.label.split(' (')[0]}{' b1' if 'b1' in result.label else ''}"
                f"{' b2' if 'b2' in result.label else ''} {n / result.total[-1]:.0f}/s" for result, _ in runners))
        for runner in apps:
            runner.check()
    finally:
        for runner in apps:
            runner.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return results, raw_results, skipped


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("n", nargs="?", type=int, default=300, help="chains per repetition (default 300)")
    ap.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both",
                    help="which database(s) to run the service layer on (default both)")
    ap.add_argument("--pg-url", default=DEFAULT_PG_URL,
                    help="PostgreSQL database; created when missing, its public schema is DROPPED and migrated "
                         f"fresh, so point it at a scratch database (default {DEFAULT_PG_URL}, "
                         "or $BENCH_POSTGRES_URL)")
    ap.add_argument("--reps", type=int, default=3, help="repetitions; figures are medians (default 3)")
    ap.add_argument("--warmup", type=int, default=20, help="chains run before measuring (default 20)")
    ap.add_argument("--sqlite-wal", action="store_true",
                    help="run SQLite with journal_mode=WAL, synchronous=NORMAL (now the app's default)")
    ap.add_argument("--processes", type=int, default=1,
                    help="after the single-process figures, also run this many processes at once on PostgreSQL, "
                         "each declaring for its own professional, and print their chains per second together")
    ap.add_argument("--threads", type=int, default=1,
                    help="after the single-process figures, also run 1 and then this many threads in one process "
                         "on PostgreSQL (as a threaded WSGI server does) and print their chains per second together")
    args = ap.parse_args(argv)
    results, raws, skipped = run(args.n, args.reps, args.warmup, args.db, args.pg_url, args.sqlite_wal)
    report(results, raws, skipped)
    if args.processes > 1 and any(r.label.startswith("PostgreSQL") for r in results):
        print(f"\nwhole requests on PostgreSQL (wall clock, each request's set-up included: fresh session, the "
              f"signed-in user; {os.cpu_count()} CPUs shared with the server):")
        for processes in (1, args.processes):
            before = _approved(args.pg_url)
            rate = run_parallel(args.pg_url, processes, args.n, args.warmup)
            made = _approved(args.pg_url) - before
            if made != processes * (args.n + args.warmup):
                raise RuntimeError(f"{processes} processes: {made} chains approved, expected "
                                   f"{processes * (args.n + args.warmup)}")
            print(f"  {processes} process{'es' if processes > 1 else ''} at once, {args.n} chains each: "
                  f"{rate:.1f} chains/s together")
    if args.threads > 1 and any(r.label.startswith("PostgreSQL") for r in results):
        print("\nwhole requests on PostgreSQL by threads of one process (wall clock, set-up included; the threads "
              "share one interpreter lock):")
        for threads in (1, args.threads):
            before = _approved(args.pg_url)
            rate, cpu_ms = run_threads(args.pg_url, threads, args.n, args.warmup)
            made = _approved(args.pg_url) - before
            if made != threads * (args.n + args.warmup):
                raise RuntimeError(f"{threads} threads: {made} chains approved, expected "
                                   f"{threads * (args.n + args.warmup)}")
            print(f"  {threads} thread{'s' if threads > 1 else ''} in one process, {args.n} chains each: "
                  f"{rate:.1f} chains/s together, {cpu_ms:.1f} ms of this process's CPU per chain "
                  f"(one thread runs Python at a time: about {1000 / cpu_ms:.0f} chains/s at most)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
