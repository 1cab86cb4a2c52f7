"""Whole credit-hour chains through the service layer, on SQLite and PostgreSQL, against raw SpiffWorkflow.

A chain is four steps, each followed by a commit: ``services.start_process`` by the applicant
(chenshihui), then ``services.complete_task(..., {"outcome": "approve"})`` by hospital_admin
(unit_review), health_admin (supervisory_review) and hr_city (hr_review; its service task
records the credit hours).

The raw figure runs the same BPMN (processes/credit_hour_approval.bpmn) in memory with
SpiffWorkflow alone, ``serialize_json`` / ``deserialize_json`` (default serializer, spec
embedded: the guide's "(b1)" method) between every step, same four steps.

    .venv/bin/python -m bench.bench_chain [--n 300] [--reps 3] [--pg-url URL] [--no-sqlite] [--no-pg]

Prints figures and ratios only; it never asserts timings.
"""

from __future__ import annotations

import argparse
import gc
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from flask import Flask
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.spiff.parser import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import func, select

from app.accounts.actor import Actor
from app.extensions import db
from app.workflow import services
from app.workflow.models import COMPLETED, ProcessInstance, WorkflowTask
from app.workflow.versions import PROCESSES_DIR
from bench._common import (
    DECLARATION,
    DEFAULT_PG_URL,
    QueryCounter,
    actor,
    ensure_pg_database,
    machine_line,
    make_app,
    median,
    spread,
)

KEY = "credit_hour_approval"
STEPS = 4
REVIEWERS = ("hospital_admin", "health_admin", "hr_city")
APPROVE = {"outcome": "approve"}
TARGET_RATIO = 3.0
TARGET_PG_RATE = 100.0


@dataclass
class Result:
    label: str
    n: int
    #: seconds per repetition: whole chain, start steps only, approval steps only
    total: list[float] = field(default_factory=list)
    start: list[float] = field(default_factory=list)
    approve: list[float] = field(default_factory=list)
    queries: int | None = None
    note: str = ""

    @property
    def rate(self) -> float:
        return self.n / median(self.total)

    @property
    def ms_chain(self) -> float:
        return median(self.total) / self.n * 1e3

    @property
    def ms_step(self) -> float:
        return self.ms_chain / STEPS


# --------------------------------------------------------------------------- the app, through the service layer


class AppChains:
    def __init__(self, app: Flask) -> None:
        self.app = app
        self.applicant: Actor = actor("chenshihui")
        self.reviewers: list[Actor] = [actor(login) for login in REVIEWERS]

    def chain(self) -> tuple[float, float]:
        """One whole chain; returns (seconds in the start step, seconds in the three approvals).

        The harness's own look-up of the open task id (a view gets it from the URL) is not timed.
        """
        t0 = time.perf_counter()
        inst = services.start_process(KEY, dict(DECLARATION), actor=self.applicant)
        instance_id = inst.id
        db.session.commit()
        started = time.perf_counter() - t0
        approving = 0.0
        for reviewer in self.reviewers:
            task_id = db.session.scalar(select(WorkflowTask.id).where(
                WorkflowTask.instance_id == instance_id, WorkflowTask.completed_at.is_(None)))
            if task_id is None:
                raise RuntimeError(f"instance {instance_id}: no open task for {reviewer.user.login}")
            t1 = time.perf_counter()
            services.complete_task(task_id, dict(APPROVE), actor=reviewer)
            db.session.commit()
            approving += time.perf_counter() - t1
        return started, approving

    def run(self, n: int) -> tuple[float, float, float]:
        gc.collect()
        start = approve = 0.0
        for _ in range(n):
            s, a = self.chain()
            start += s
            approve += a
        return start + approve, start, approve

    def queries_per_chain(self) -> int:
        counter = QueryCounter(db.engine)
        with counter.counting():
            self.chain()
        return counter.count - len(self.reviewers)  # minus the harness's task-id look-ups

    def check_completed(self, expected: int) -> None:
        done = db.session.scalar(select(func.count()).select_from(ProcessInstance)
                                 .where(ProcessInstance.status == COMPLETED, ProcessInstance.outcome == "approved"))
        if done != expected:
            raise RuntimeError(f"expected {expected} approved instances, found {done}")


def bench_app(label: str, url: str, n: int, reps: int, warmup: int) -> Result:
    app = make_app(url)
    result = Result(label, n)
    with app.app_context():
        chains = AppChains(app)
        chains.run(warmup)
        result.queries = chains.queries_per_chain()
        for _ in range(reps):
            total, start, approve = chains.run(n)
            result.total.append(total)
            result.start.append(start)
            result.approve.append(approve)
        chains.check_completed(warmup + 1 + n * reps)
        db.session.remove()
        db.engine.dispose()
    return result


# --------------------------------------------------------------------------- raw SpiffWorkflow, method (b1)


class _RawScriptEngine(PythonScriptEngine):
    def call_service(self, task, **kwargs):  # type: ignore[override]  # noqa: ANN001
        return "{}"


class RawChains:
    def __init__(self) -> None:
        parser = SpiffBpmnParser(validator=VALIDATOR)
        parser.add_bpmn_file(str(PROCESSES_DIR / f"{KEY}.bpmn"))
        self.spec = parser.get_spec(KEY)
        self.subprocess_specs = parser.get_subprocess_specs(KEY)
        self.serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
        self.script_engine = _RawScriptEngine()
        self.start_data = {
            **DECLARATION,
            "person_id_number": "110101199003072711",
            "declared_by_unit": False,
            "applicant_name": "陈诗慧",
            "lanes": {"unit": True, "supervisory_department": True, "hr_bureau": True},
        }

    def chain(self) -> str:
        """Start + 3 approvals; the JSON string stands for the database row between steps."""
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

    def run(self, n: int) -> float:
        gc.collect()
        t0 = time.perf_counter()
        for _ in range(n):
            self.chain()
        return time.perf_counter() - t0


def bench_raw(n: int, reps: int, warmup: int) -> Result:
    raw = RawChains()
    result = Result("raw SpiffWorkflow (b1)", n)
    raw.run(warmup)
    for _ in range(reps):
        result.total.append(raw.run(n))
    return result


# --------------------------------------------------------------------------- report


def report(results: list[Result], raw: Result, skipped: list[str]) -> None:
    print()
    print(f"{'':32} {'chains/s':>9} {'ms/chain':>9} {'ms/step':>8} {'start':>7} {'approve':>8} "
          f"{'queries':>8} {'spread':>7}")
    print(f"{'':32} {'':>9} {'':>9} {'':>8} {'ms':>7} {'ms':>8} {'/chain':>8} {'':>7}")
    for r in [*results, raw]:
        start = f"{median(r.start) / r.n * 1e3:7.2f}" if r.start else f"{'':7}"
        approve = f"{median(r.approve) / r.n / len(REVIEWERS) * 1e3:8.2f}" if r.approve else f"{'':8}"
        queries = f"{r.queries:8d}" if r.queries is not None else f"{'':8}"
        print(f"{r.label:32} {r.rate:9.1f} {r.ms_chain:9.2f} {r.ms_step:8.2f} {start} {approve} {queries} "
              f"{spread(r.total):6.1f}%")
    print("  (start = ms per start step; approve = ms per approval step; medians over the repetitions;")
    print("   queries = SQL statements per chain, commits excluded; spread = (max-min)/median of the reps)")
    print()
    print(f"ratio app / raw per chain (target <= {TARGET_RATIO:.0f}x):")
    for r in results:
        ratio = r.ms_chain / raw.ms_chain
        mark = "meets" if ratio <= TARGET_RATIO else "MISSES"
        print(f"  {r.label:30} {ratio:5.2f}x   {mark} target")
    for r in results:
        if r.label.startswith("PostgreSQL"):
            mark = "meets" if r.rate >= TARGET_PG_RATE else "MISSES"
            print(f"PostgreSQL throughput (target >= {TARGET_PG_RATE:.0f} chains/s): {r.rate:.1f} chains/s   "
                  f"{mark} target")
    for line in skipped:
        print(line)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=300, help="chains per repetition (default 300)")
    ap.add_argument("--reps", type=int, default=3, help="repetitions; figures are medians (default 3)")
    ap.add_argument("--warmup", type=int, default=20, help="chains run before measuring (default 20)")
    ap.add_argument("--pg-url", default=DEFAULT_PG_URL,
                    help="PostgreSQL database to use; it is created when missing and its public schema is "
                         f"DROPPED and migrated fresh (default {DEFAULT_PG_URL})")
    ap.add_argument("--no-sqlite", action="store_true", help="skip SQLite")
    ap.add_argument("--no-pg", action="store_true", help="skip PostgreSQL")
    args = ap.parse_args(argv)

    print(machine_line())
    print(f"chains per repetition: {args.n}, repetitions: {args.reps}, warm-up chains: {args.warmup}, "
          f"steps per chain: {STEPS}")
    results: list[Result] = []
    skipped: list[str] = []

    raw = bench_raw(args.n, args.reps, args.warmup)
    print(f"raw SpiffWorkflow (b1): {raw.rate:.1f} chains/s")

    if not args.no_sqlite:
        tmp = Path(tempfile.mkdtemp(prefix="cepp_bench_"))
        try:
            r = bench_app("SQLite (temp file)", f"sqlite:///{tmp / 'bench.sqlite3'}", args.n, args.reps,
                          args.warmup)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        results.append(r)
        print(f"SQLite: {r.rate:.1f} chains/s")

    if not args.no_pg:
        reason = ensure_pg_database(args.pg_url)
        if reason:
            skipped.append(f"PostgreSQL SKIPPED: not reachable at {args.pg_url}: {reason}")
            print(skipped[-1])
        else:
            r = bench_app("PostgreSQL", args.pg_url, args.n, args.reps, args.warmup)
            results.append(r)
            print(f"PostgreSQL: {r.rate:.1f} chains/s")

    report(results, raw, skipped)
    return 0


if __name__ == "__main__":
    sys.exit(main())
