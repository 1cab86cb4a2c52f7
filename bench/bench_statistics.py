"""The statistics queries (继教综合统计, 职称系列分布, 审核时效) on a generated province on PostgreSQL.

The generator builds, with set-based SQL (``generate_series``), a province under the demo's province bureau:
cities, districts below each city, supervisory departments and employer units below those; professionals
spread over the units with title series and levels; five years of stored annual verifications; credit
records; closed and open review tasks with their decisions. It prints how many rows it made and how long
that took. Then each query of ``app.statistics.queries`` is timed (median of ``--repeat`` calls) for the
administrator of one city bureau and for the province bureau, against the targets of issue 18 (500 ms for a
city bureau, 2 s for the province).

    .venv/bin/python -m bench.bench_statistics [PEOPLE] [--orgs N] [--pg-url URL] [--repeat 3]

The PostgreSQL database's public schema is DROPPED and migrated fresh: use a scratch database.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import select, text

from app.accounts.models import Membership, Organisation, Role, User
from app.accounts.services import hash_password
from app.extensions import db
from app.statistics import queries, summary
from bench._common import DEFAULT_PG_URL, actor, app_on, ensure_pg_database, machine_line, make_app, median

CITY_TARGET_MS, PROVINCE_TARGET_MS = 500.0, 2000.0
YEAR = 2026
CITIES = 9


def _sql(statement: str, **params: Any) -> int:
    result = db.session.execute(text(statement), params)
    return result.rowcount or 0


def generate(people: int, orgs: int) -> dict[str, int]:
    """Fill the database; returns the row counts."""
    province = db.session.scalar(select(Organisation).where(Organisation.level == "province"))
    # A bulk load: the summary triggers (and foreign-key checks) are off for this session's inserts; the summary
    # tables are rebuilt from the rows at the end (summary.rebuild, as after any load around the triggers).
    _sql("SET session_replication_role = replica")
    districts_per_city = 10
    units = max(orgs - CITIES * (districts_per_city + 2), CITIES * districts_per_city)
    # cities, then districts and a supervisory department per city, then units below districts / departments
    _sql("""INSERT INTO organisation (name, kind, level, parent_id, path, region, status, review_enabled,
                                      created_at)
            SELECT 'B市人社局' || g, 'hr_bureau', 'city', :p, '', '福建省-B市' || g, 'active', true, now()
            FROM generate_series(1, :n) g""", p=province.id, n=CITIES)
    _sql("UPDATE organisation SET path = :pp || id || '/' WHERE parent_id = :p AND path = ''",
         p=province.id, pp=province.path)
    _sql("""INSERT INTO organisation (name, kind, level, parent_id, path, region, status, review_enabled,
                                      created_at)
            SELECT c.name || '区' || g, 'hr_bureau', 'district', c.id, '', c.region || '-区' || g, 'active', true,
                   now()
            FROM organisation c, generate_series(1, :d) g WHERE c.name LIKE 'B市人社局%'
            UNION ALL
            SELECT c.name || '卫健委', 'supervisory_department', NULL, c.id, '', c.region, 'active', true, now()
            FROM organisation c WHERE c.name LIKE 'B市人社局%'""", d=districts_per_city)
    _sql("""UPDATE organisation o SET path = p.path || o.id || '/' FROM organisation p
            WHERE o.parent_id = p.id AND o.path = '' AND p.name LIKE 'B市人社局%'""")
    _sql("""INSERT INTO organisation (name, kind, parent_id, path, region, status, review_enabled,
                                      created_at)
            SELECT 'B单位' || g, 'employer_unit', parents.id, '', parents.region, 'active', true, now()
            FROM generate_series(1, :n) g
            JOIN (SELECT id, region, row_number() OVER (ORDER BY id) - 1 AS k, count(*) OVER () AS total
                  FROM organisation WHERE path = '' IS FALSE AND (level = 'district' OR kind = 'supervisory_department')
                        AND name LIKE 'B市%') parents ON parents.k = g % parents.total""", n=units)
    _sql("""UPDATE organisation o SET path = p.path || o.id || '/' FROM organisation p
            WHERE o.parent_id = p.id AND o.path = ''""")
    _sql("""CREATE TEMP TABLE bench_units AS
            SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM organisation WHERE name LIKE 'B单位%'""")
    n_units = db.session.scalar(text("SELECT count(*) FROM bench_units"))
    _sql("""INSERT INTO person (name, id_number, gender, unit_id, title_series, title_level, created_at)
            SELECT '专技' || g, '8' || lpad(g::text, 16, '0') || 'X', CASE WHEN g % 2 = 0 THEN '女' ELSE '男' END, u.id,
                   (ARRAY['卫生系列','工程系列','教育系列','经济系列','农业系列','会计系列'])[1 + g % 6],
                   (ARRAY['员级','初级','中级','副高级','正高级'])[1 + (g / 7) % 5], now()
            FROM generate_series(1, :n) g JOIN bench_units u ON u.k = g % :units""", n=people, units=n_units)
    # five years of stored verifications for about 70 % of the people each year, 60 % of them verified
    _sql("""INSERT INTO annual_verification (person_id, year, verified, public_hours, professional_hours,
                                             elective_hours, total_hours, missing, rule_hash, verified_at)
            SELECT p.id, y, (p.id + y) % 5 < 3, 30, CASE WHEN (p.id + y) % 5 < 3 THEN 60 ELSE 20 END, 0,
                   CASE WHEN (p.id + y) % 5 < 3 THEN 90 ELSE 50 END, '[]', 'bench', now()
            FROM person p, generate_series(:y - 4, :y) y WHERE (p.id * 7 + y) % 10 < 7""", y=YEAR)
    _sql("""INSERT INTO credit_record (person_id, year, subject_type, course_name, learning_form, declared_hours,
                                       recognised_hours, source, source_id, created_at)
            SELECT p.id, :y - (k % 5), (ARRAY['public','professional','professional','elective'])[1 + (p.id + k) % 4],
                   '课程', (ARRAY['face_to_face','online','online','conference','other'])[1 + (p.id * 3 + k) % 5],
                   18, 18, 'bench', p.id * 10 + k, now()
            FROM person p, generate_series(1, 5) k""", y=YEAR)
    version = db.session.execute(text("SELECT id, content_hash FROM process_version LIMIT 1")).one()
    user_id = db.session.scalar(text("SELECT id FROM user_account ORDER BY id LIMIT 1"))
    instance = db.session.scalar(text("""INSERT INTO process_instance (process_version_id, process_key, version_hash,
            status, state_json, serializer_version, lock_version, started_by_id, lane_orgs, return_count, created_at,
            updated_at) VALUES (:v, 'credit_hour_approval', :h, 'running', '{}', '1', 1, :u, '{}', 0, now(), now())
            RETURNING id"""), {"v": version.id, "h": version.content_hash, "u": user_id})
    tasks = people // 10
    _sql("""INSERT INTO workflow_task (id, instance_id, process_key, task_spec, name, candidate_org_id,
                                       candidate_permission, created_at, completed_at, cancelled)
            SELECT 'b' || g, :i, 'credit_hour_approval', 'unit_review', '单位审核', u.id, 'credit_review',
                   timestamp '2026-01-01' + (g % 300) * interval '1 day',
                   CASE WHEN g % 10 < 8 THEN timestamp '2026-01-01' + (g % 300) * interval '1 day'
                                             + (g % 97) * interval '1 hour' END, false
            FROM generate_series(1, :n) g JOIN bench_units u ON u.k = g % :units""",
         i=instance, n=tasks, units=n_units)
    _sql("""INSERT INTO approval_event (instance_id, step, step_name, organisation_id, at, outcome)
            SELECT :i, 'unit_review', '单位审核', candidate_org_id, completed_at,
                   CASE WHEN substr(id, 2)::int % 13 = 0 THEN 'return' ELSE 'approve' END
            FROM workflow_task WHERE completed_at IS NOT NULL AND id LIKE 'b%'""", i=instance)
    # the administrator of the first generated city bureau
    city = db.session.scalar(select(Organisation).where(Organisation.name == "B市人社局1"))
    admin = User(login="bench_city", name="市局管理员", password_hash=hash_password("Bench12345"))
    db.session.add(admin)
    db.session.flush()
    db.session.add(Membership(user_id=admin.id, organisation_id=city.id, role=Role.ADMIN, permissions=[]))
    db.session.commit()
    _sql("SET session_replication_role = DEFAULT")
    start = time.perf_counter()
    summary.rebuild()
    db.session.commit()
    print(f"summary tables rebuilt in {time.perf_counter() - start:.0f} s")
    counts = {name: db.session.scalar(text(f"SELECT count(*) FROM {name}")) for name in
              ("organisation", "person", "annual_verification", "credit_record", "workflow_task", "approval_event",
               "statistics_unit_people", "statistics_unit_year", "statistics_unit_form")}
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    return counts


def timings(login: str, repeat: int) -> list[tuple[str, float]]:
    who = actor(login)
    scope = queries.scope_of(who)
    people = queries.totals(scope, YEAR)["people"]
    calls: list[tuple[str, Callable[[], Any]]] = [
        ("totals (people, completion, hours)", lambda: queries.totals(scope, YEAR)),
        ("by organisation", lambda: queries.by_organisation(scope, YEAR)),
        ("by region", lambda: queries.by_region(scope, YEAR)),
        ("completion by year (5 years)", lambda: queries.completion_by_year(scope, YEAR, people)),
        ("hours by learning form", lambda: queries.hours_by_form(scope, YEAR)),
        ("title distribution", lambda: queries.title_distribution(scope, YEAR)),
        ("declared people", lambda: queries.declared_people(scope, YEAR)),
        ("review times (API: every organisation)", lambda: queries.review_times(who, year=YEAR)),
        ("review times (page: top 20)", lambda: queries.review_times(who, year=YEAR, limit=20)),
        ("training by year", lambda: queries.training_by_year(scope, YEAR)),
        ("whole statistics page", lambda: (queries.comprehensive(who, YEAR),
                                           queries.review_times(who, year=YEAR, limit=20))),
    ]
    out = []
    for name, call in calls:
        runs = []
        for _ in range(repeat):
            start = time.perf_counter()
            call()
            runs.append((time.perf_counter() - start) * 1000)
            db.session.rollback()
        out.append((name, median(runs)))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("people", nargs="?", type=int, default=500_000)
    ap.add_argument("--orgs", type=int, default=20_000)
    ap.add_argument("--pg-url", default=DEFAULT_PG_URL)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-generate", action="store_true",
                    help="time the queries on the province an earlier run generated in this database")
    args = ap.parse_args(argv)
    reason = ensure_pg_database(args.pg_url)
    if reason:
        print(f"PostgreSQL unavailable: {reason}", file=sys.stderr)
        return 1
    print(machine_line())
    app = app_on(args.pg_url) if args.no_generate else make_app(args.pg_url)
    with app.app_context():
        if not args.no_generate:
            start = time.perf_counter()
            counts = generate(args.people, args.orgs)
            print(f"generated in {time.perf_counter() - start:.0f} s: "
                  + ", ".join(f"{v:,} {k}" for k, v in counts.items()))
        for login, label, target in (("bench_city", "city bureau", CITY_TARGET_MS),
                                     ("hr_province", "province", PROVINCE_TARGET_MS)):
            scope_people = queries.totals(queries.scope_of(actor(login)), YEAR)["people"]
            print(f"\n{label} ({login}, {scope_people:,} people in scope) — target {target:.0f} ms")
            for name, ms in timings(login, args.repeat):
                print(f"  {name:40s} {ms:8.1f} ms {'ok' if ms <= target else 'SLOW'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
