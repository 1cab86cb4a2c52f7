"""The task inbox over 200,000 open tasks: first and last page, with and without a name / ID-number filter.

A generator fills a scratch database with open workflow tasks spread the way a province's would
be: a few hundred organisations (units, supervisory departments, HR bureaus at three levels),
four years, several processes, Chinese names drawn from common surnames and given names, valid
18-digit ID numbers; as many closed tasks again sit in the same table (history the partial
indexes must skip). On PostgreSQL rows go in with COPY; on SQLite (smoke test) with executemany.

Then ``app.inbox.queries.inbox`` — what the /tasks page and GET /api/v1/tasks call — is timed
for reviewers with a large and a small inbox: first page, last page, and the same with a name or
ID-number filter, each the median of several calls, against the 50 ms target.

    .venv/bin/python -m bench.bench_inbox [N] [--db postgres|sqlite] [--pg-url URL] [--repeat 7]

The PostgreSQL database's public schema is DROPPED and migrated fresh: use a scratch database.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from flask import Flask
from sqlalchemy import insert, select, text

from app.accounts.actor import Actor
from app.accounts.models import Organisation, OrgKind, User
from app.cases import queries
from app.extensions import db
from app.workflow.models import ProcessInstance, ProcessVersion, WorkflowTask
from bench._common import DEFAULT_PG_URL, ensure_pg_database, machine_line, make_app, median

TARGET_MS = 50.0
PER_PAGE = 20

SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
            "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
GIVEN = ("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红文斌立平诗慧晓东海燕俊峰玉兰宇航子涵"
         "浩然欣怡梓萱一诺雨桐佳怡思远博文嘉怡雅婷宏伟丹丹建华晓明春梅秋菊冬梅学军卫东")
#: (region code, share): Fuzhou districts and other Fujian cities.
REGIONS = ("350102", "350103", "350104", "350105", "350111", "350121", "350181", "350203", "350206",
           "350302", "350402", "350502", "350503", "350602", "350702", "350802", "350902", "110101", "320102")
COURSES = ("急诊医学新进展", "护理质量管理", "公需科目：数字经济", "工程项目管理实务", "人工智能应用", "医院感染防控",
           "临床合理用药", "安全生产法规", "建筑信息模型应用", "会计准则解读", "专业技术人员职业道德", "心电图判读")
#: (process key, [(task spec, name, lane, share)], share)
PROCESSES = (
    ("credit_hour_approval", (("unit_review", "单位审核", "unit", 0.45),
                                    ("supervisory_review", "主管部门审核", "supervisory_department", 0.25),
                                    ("hr_review", "人社部门审核", "hr_bureau", 0.22),
                                    ("revise", "修改后重新申报", "applicant", 0.08)), 0.70),
    ("class_enrolment", (("institution_review", "培训机构审核", "institution", 0.7),
                               ("hr_review", "人社部门审核", "hr_bureau", 0.3)), 0.15),
    ("personnel_transfer", (("old_superior_review", "原主管部门审核", "supervisory_department", 0.5),
                                  ("hr_review", "人社部门审核", "hr_bureau", 0.5)), 0.10),
    ("unit_registration", (("hr_review", "人社部门审核", "hr_bureau", 1.0),), 0.05),
)
YEARS = ((2023, 0.1), (2024, 0.2), (2025, 0.35), (2026, 0.35))


def id_number(rng: random.Random) -> str:
    """A valid 18-digit 公民身份号码 (GB 11643 check digit)."""
    born = datetime(1960, 1, 1) + timedelta(days=rng.randrange(0, 365 * 42))
    body = f"{rng.choice(REGIONS)}{born:%Y%m%d}{rng.randrange(1000):03d}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    check = "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]
    return body + check


def person_name(rng: random.Random) -> str:
    given = "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
    return rng.choice(SURNAMES) + given


def _pick(rng: random.Random, weighted) -> tuple:  # noqa: ANN001
    x = rng.random()
    for item in weighted:
        x -= item[-1]
        if x <= 0:
            return item
    return weighted[-1]


# --------------------------------------------------------------------------- the generator


@dataclass
class Tree:
    """Organisation ids by lane, with the weights tasks are spread by."""

    units: list[int]
    supervisory: list[int]
    bureaus: list[int]
    institutions: list[int]
    busy_bureau: int
    busy_unit: int


def make_organisations(n_units: int, rng: random.Random) -> Tree:
    """Add supervisory departments, units, district bureaus and institutions under the demo tree."""
    city = db.session.scalar(select(Organisation).where(Organisation.name == "市人力资源和社会保障局"))
    hospital = db.session.scalar(select(Organisation).where(Organisation.name == "市第一人民医院"))
    health = db.session.scalar(select(Organisation).where(Organisation.name == "市卫生健康委员会"))
    demo_bureaus = list(db.session.scalars(select(Organisation.id).where(Organisation.kind == OrgKind.HR_BUREAU)))

    def add(name: str, kind: OrgKind, parent: Organisation, level: str | None = None) -> Organisation:
        org = Organisation(name=name, kind=kind, level=level, parent_id=parent.id, region=parent.region)
        db.session.add(org)
        db.session.flush()
        org.path = f"{parent.path}{org.id}/"
        return org

    districts = [add(f"第{i + 1}区人力资源和社会保障局", OrgKind.HR_BUREAU, city, "district") for i in range(8)]
    depts = [health] + [add(f"市第{i + 1}主管局", OrgKind.SUPERVISORY_DEPARTMENT, city) for i in range(24)]
    units = [hospital]
    for i in range(n_units):
        parent = rng.choice(depts + districts)
        units.append(add(f"第{i + 1}单位", OrgKind.EMPLOYER_UNIT, parent))
    institutions = [add(f"第{i + 1}培训机构", OrgKind.TRAINING_INSTITUTION, city) for i in range(12)]
    db.session.flush()
    for group in (units, depts, institutions):
        rng.shuffle(group)
    return Tree(units=[u.id for u in units], supervisory=[d.id for d in depts],
                bureaus=demo_bureaus + [d.id for d in districts], institutions=[i.id for i in institutions],
                busy_bureau=city.id, busy_unit=hospital.id)


def _zipf_choice(rng: random.Random, ids: list[int], busy: int | None, busy_share: float) -> int:
    if busy is not None and rng.random() < busy_share:
        return busy
    # a long tail: low indexes are much busier than high ones
    return ids[min(len(ids) - 1, int(rng.paretovariate(1.2)) - 1)] if rng.random() < 0.5 else rng.choice(ids)


def task_rows(n_open: int, n_closed: int, tree: Tree, version_id: int, applicant_id: int, rng: random.Random
              ) -> Iterator[tuple[dict, dict]]:
    """(instance row, task row) pairs; the first ``n_open`` tasks are open."""
    start = datetime(2023, 1, 1)
    span = int((datetime(2026, 11, 20) - start).total_seconds())
    people = [(person_name(rng), id_number(rng)) for _ in range(max(1000, (n_open + n_closed) // 8))]
    for i in range(n_open + n_closed):
        key, steps, _share = _pick(rng, PROCESSES)
        spec, name, lane, _s = _pick(rng, steps)
        year = _pick(rng, YEARS)[0]
        applicant, id_no = rng.choice(people)
        created = start + timedelta(seconds=rng.randrange(span))
        org = None
        user = None
        if lane == "unit":
            org = _zipf_choice(rng, tree.units, tree.busy_unit, 0.02)
        elif lane == "supervisory_department":
            org = _zipf_choice(rng, tree.supervisory, None, 0)
        elif lane == "hr_bureau":
            org = _zipf_choice(rng, tree.bureaus, tree.busy_bureau, 0.6)
        elif lane == "institution":
            org = _zipf_choice(rng, tree.institutions, None, 0)
        else:
            user = applicant_id
        title = rng.choice(COURSES)
        instance = {
            "id": i + 1, "process_version_id": version_id, "process_key": key, "version_hash": "bench",
            "status": "running" if i < n_open else "completed", "state_json": "", "serializer_version": "bench",
            "lock_version": 1, "started_by_id": applicant_id, "lane_orgs": {}, "applicant_name": applicant,
            "applicant_id_number": id_no, "year": year, "title": title, "return_count": 0,
            "created_at": created, "updated_at": created,
        }
        task = {
            "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "instance_id": i + 1, "process_key": key,
            "task_spec": spec, "name": name, "lane": lane, "form": "review.schema.json",
            "candidate_org_id": org, "candidate_permission": "credit_review" if org else None,
            "candidate_user_id": user, "created_at": created,
            "completed_at": None if i < n_open else created + timedelta(days=rng.randrange(1, 30)),
            "cancelled": False, "applicant_name": applicant, "applicant_id_number": id_no, "year": year,
            "title": title,
        }
        yield instance, task


def _copy(table: str, rows: list[dict]) -> None:
    """COPY rows into ``table`` over the session's own connection (same transaction)."""
    cols = list(rows[0])
    buf = io.StringIO()
    writer = csv.writer(buf)
    for row in rows:
        writer.writerow(["\\N" if row[c] is None else json.dumps(row[c]) if isinstance(row[c], dict) else row[c]
                         for c in cols])
    buf.seek(0)
    raw = db.session.connection().connection.dbapi_connection
    with raw.cursor() as cur:
        cur.copy_expert(f"COPY {table} ({', '.join(cols)}) FROM STDIN WITH (FORMAT csv, NULL '\\N')", buf)


def generate(n_open: int, n_closed: int | None = None, seed: int = 2026, out: Callable[[str], None] = print) -> Tree:
    """Fill the current app's database (fresh demo seed) with ``n_open`` open tasks."""
    rng = random.Random(seed)
    n_closed = n_open if n_closed is None else n_closed
    t0 = time.perf_counter()
    tree = make_organisations(max(20, min(600, n_open // 300)), rng)
    version_id = db.session.scalar(select(ProcessVersion.id).where(
        ProcessVersion.process_key == "credit_hour_approval"))
    applicant_id = db.session.scalar(select(User.id).where(User.login == "chenshihui"))
    pg = db.session.get_bind().dialect.name == "postgresql"
    if pg:
        # rows are consistent by construction: skip the per-row foreign-key triggers while loading
        db.session.execute(text("SET LOCAL session_replication_role = replica"))
    instances: list[dict] = []
    tasks: list[dict] = []

    def flush() -> None:
        if not instances:
            return
        if pg:
            _copy("process_instance", instances)
            _copy("workflow_task", tasks)
        else:
            db.session.execute(insert(ProcessInstance.__table__), instances)
            db.session.execute(insert(WorkflowTask.__table__), tasks)
        instances.clear()
        tasks.clear()

    for instance, task in task_rows(n_open, n_closed, tree, version_id, applicant_id, rng):
        instances.append(instance)
        tasks.append(task)
        if len(instances) >= 20000:
            flush()
    flush()
    if pg:
        db.session.execute(text("SELECT setval(pg_get_serial_sequence('process_instance', 'id'), "
                                "(SELECT max(id) FROM process_instance))"))
    db.session.commit()
    if pg:
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE process_instance"))
            conn.execute(text("VACUUM ANALYZE workflow_task"))
            conn.execute(text("ANALYZE organisation"))
    else:
        db.session.execute(text("ANALYZE"))
        db.session.commit()
    out(f"generated {n_open} open + {n_closed} closed tasks over {len(tree.units)} units, "
        f"{len(tree.supervisory)} supervisory departments, {len(tree.bureaus)} HR bureaus "
        f"in {time.perf_counter() - t0:.1f} s")
    return tree


# --------------------------------------------------------------------------- timing


@dataclass
class Timing:
    who: str
    case: str
    total: int
    page: int
    ms: float


def _time_inbox(actor: Actor, repeat: int, **kwargs) -> tuple[float, queries.Page]:  # noqa: ANN003
    page = queries.inbox(actor, per_page=PER_PAGE, **kwargs)  # warm: plan cache, buffers
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        page = queries.inbox(actor, per_page=PER_PAGE, **kwargs)
        times.append((time.perf_counter() - t0) * 1e3)
    return median(times), page


def measure(repeat: int = 7, out: Callable[[str], None] = print) -> list[Timing]:
    """Time the inbox for a city HR bureau reviewer (large inbox) and a hospital's (small)."""
    results: list[Timing] = []
    for login in ("hr_city", "hospital_admin"):
        actor = Actor.of(db.session.scalar(select(User).where(User.login == login)))
        org_id = actor.memberships[0].organisation_id
        sample = db.session.execute(
            select(WorkflowTask.applicant_name, WorkflowTask.applicant_id_number)
            .where(WorkflowTask.candidate_org_id == org_id, WorkflowTask.completed_at.is_(None))
            .order_by(WorkflowTask.created_at).limit(1)).first()
        cases: list[tuple[str, dict]] = [("no filter", {})]
        if sample is not None:
            name, id_no = sample
            cases += [
                (f"surname {name[0]}", {"q": name[0]}),
                (f"name {name}", {"q": name}),
                (f"ID prefix {id_no[:6]}", {"q": id_no[:6]}),
                ("full ID number", {"q": id_no}),
                ("year 2025 + process", {"year": 2025, "process": "credit_hour_approval"}),
            ]
        for case, filters in cases:
            first_ms, first = _time_inbox(actor, repeat, page=1, **filters)
            results.append(Timing(login, case, first.total, 1, first_ms))
            if first.pages > 1:
                last_ms, _ = _time_inbox(actor, repeat, page=first.pages, **filters)
                results.append(Timing(login, case, first.total, first.pages, last_ms))
        db.session.rollback()
    return results


def report(results: list[Timing], out: Callable[[str], None] = print) -> bool:
    out("")
    out(f"{'reviewer':15} {'filter':24} {'matching':>9} {'page':>7} {'ms':>8}  target <= {TARGET_MS:.0f} ms")
    ok = True
    for r in results:
        mark = "meets" if r.ms <= TARGET_MS else "MISSES"
        ok = ok and r.ms <= TARGET_MS
        page = "first" if r.page == 1 else f"{r.page}"
        out(f"{r.who:15} {r.case:24} {r.total:9d} {page:>7} {r.ms:8.2f}  {mark}")
    out("  (ms = median wall time of app.inbox.queries.inbox, count + page rows, per_page "
        f"{PER_PAGE}; 'page' is the first or the last page)")
    worst = max(results, key=lambda r: r.ms)
    out(f"slowest: {worst.who} / {worst.case} / page {worst.page}: {worst.ms:.2f} ms -> "
        f"{'meets' if ok else 'MISSES'} the {TARGET_MS:.0f} ms target")
    return ok


def _explain(out: Callable[[str], None]) -> None:
    """EXPLAIN ANALYZE of the no-filter first page for the busy reviewer (diagnostics, --explain)."""
    actor = Actor.of(db.session.scalar(select(User).where(User.login == "hr_city")))
    captured: list[tuple[str, object]] = []
    from sqlalchemy import event

    def grab(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        captured.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", grab)
    try:
        queries.inbox(actor, page=1, per_page=PER_PAGE, q="陈")
    finally:
        event.remove(db.engine, "before_cursor_execute", grab)
    raw = db.session.connection().connection.dbapi_connection
    with raw.cursor() as cur:
        for statement, params in captured:
            cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, params)
            out("\n".join(r[0] for r in cur.fetchall()))


def run(n: int, db_choice: str = "postgres", pg_url: str = DEFAULT_PG_URL, repeat: int = 7, explain: bool = False,
        out: Callable[[str], None] = print) -> list[Timing]:
    out(machine_line())
    tmp = Path(tempfile.mkdtemp(prefix="cepp_bench_inbox_"))
    try:
        if db_choice == "postgres":
            reason = ensure_pg_database(pg_url)
            if reason:
                out(f"PostgreSQL SKIPPED: not reachable at {pg_url}: {reason}")
                return []
            app: Flask = make_app(pg_url)
        else:
            app = make_app(f"sqlite:///{tmp / 'inbox.sqlite3'}")
        with app.app_context():
            generate(n, out=out)
            results = measure(repeat, out=out)
            if explain and db.engine.dialect.name == "postgresql":
                _explain(out)
            db.session.remove()
            db.engine.dispose()
        return results
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("n", nargs="?", type=int, default=200_000, help="open tasks to generate (default 200000)")
    ap.add_argument("--db", choices=("postgres", "sqlite"), default="postgres", help="database (default postgres)")
    ap.add_argument("--pg-url", default=DEFAULT_PG_URL,
                    help="scratch PostgreSQL database; its public schema is DROPPED and migrated fresh "
                         f"(default {DEFAULT_PG_URL}, or $BENCH_POSTGRES_URL)")
    ap.add_argument("--repeat", type=int, default=7, help="calls per figure; the median is printed (default 7)")
    ap.add_argument("--explain", action="store_true", help="also print EXPLAIN ANALYZE of the inbox statements")
    args = ap.parse_args(argv)
    results = run(args.n, args.db, args.pg_url, args.repeat, args.explain)
    if results:
        report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
