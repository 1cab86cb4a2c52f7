"""Personnel import and export at scale: time and peak memory, small file vs. large file side by side.

    .venv/bin/python -m bench.bench_import [--sizes 10000 100000] [--pg-url URL | --sqlite]

For each size: an .xlsx of that many personnel rows (1 % of them invalid) is written, then imported
through the import centre's background job run inline (``app.imports.services.run_import``: one streaming
pass over the sheet, batches of 500 rows inserted with their ``import_row`` records, each row written to
the success or the failure file as its batch is settled), then the imported people (that size's batch only)
are exported (``app.imports.exports.run_export``: one streamed query). Resident set size is sampled every
20 ms; the figure printed is the peak above the level before the step; CPU seconds are this process's.
The database is a scratch one: its public schema is dropped and migrated fresh. Targets (issue 15):
100,000 rows in under 60 s with peak memory under 300 MB and flat as the file grows. Prints figures only.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from pathlib import Path

from openpyxl import Workbook
from sqlalchemy import func, select

from app.extensions import db
from app.imports import exports, registry
from app.imports import services as imports
from app.imports.models import ImportJob
from app.people.models import Person
from app.taskcentre.models import BackgroundJob
from bench._common import DEFAULT_PG_URL, actor, ensure_pg_database, machine_line, make_app

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_number(i: int) -> str:
    """Unique for i < 3,650,000: a birth day per 1,000 people, the sequence number the rest."""
    day = i // 1000
    body = f"350102{1960 + day // 336}{1 + day // 28 % 12:02d}{1 + day % 28:02d}{i % 1000:03d}"
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, _WEIGHTS, strict=True)) % 11]


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class Peak:
    """The highest RSS seen while active, sampled by a thread."""

    def __init__(self) -> None:
        self.start = rss_mb()
        self.peak = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_mb())
            time.sleep(0.02)

    def __enter__(self) -> Peak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def above(self) -> float:
        return self.peak - self.start


def write_file(path: Path, n: int, offset: int, batch: str = "") -> None:
    """``n`` rows of the personnel template; every 100th has a birth date that contradicts its ID number."""
    columns = registry.get("personnel").columns
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("数据")
    ws.append([c.header for c in columns])
    for i in range(offset, offset + n):
        idn = id_number(i)
        values = {"name": f"{batch}人员{i}", "id_number": idn, "gender": "男", "education": "大学本科",
                  "title_series": "卫生系列", "title_level": "中级", "work_start_date": "2015-08-01",
                  "birth_date": "1900-01-01" if i % 100 == 0 else None, "phone": "13800000000",
                  "address": "福州市鼓楼区"}
        ws.append([values.get(c.name) for c in columns])
    wb.save(path)


def run(app, sizes: list[int]) -> list[dict]:  # noqa: ANN001
    results = []
    offset = 1000
    folder = Path(tempfile.mkdtemp(prefix="bench-import-"))
    with app.app_context():
        admin = actor("hospital_admin")
        for n in sizes:
            path = folder / f"people-{n}.xlsx"
            t0 = time.perf_counter()
            batch = f"第{n}批"  # each size's people, and only they, are exported again
            write_file(path, n, offset, batch)
            made = time.perf_counter() - t0
            offset += n
            with path.open("rb") as fh:
                imp = imports.start(admin, "personnel", fh, path.name)
            db.session.commit()
            job_id = imp.job_id
            db.session.expire_all()
            t0, c0 = time.perf_counter(), time.process_time()
            with Peak() as mem:
                status = imports.run_import(job_id, 1)
            took, cpu = time.perf_counter() - t0, time.process_time() - c0
            imp = db.session.scalar(select(ImportJob).where(ImportJob.job_id == job_id))
            export = exports.start(admin, "people", {"name": batch})
            db.session.commit()
            export_id = export.id
            db.session.expire_all()
            t0, c0 = time.perf_counter(), time.process_time()
            with Peak() as xmem:
                xstatus = exports.run_export(export_id, export.attempts)
            xtook, xcpu = time.perf_counter() - t0, time.process_time() - c0
            exported = db.session.get(BackgroundJob, export_id).total
            people = db.session.scalar(select(func.count()).select_from(Person).where(Person.name.startswith(batch)))
            results.append({"n": n, "file_mb": path.stat().st_size / 2**20, "made": made, "status": status,
                            "seconds": took, "cpu": cpu, "xcpu": xcpu, "peak": mem.above, "ok": imp.succeeded,
                            "failed": imp.failed,
                            "xstatus": xstatus, "xseconds": xtook, "xpeak": xmem.above, "exported": exported,
                            "people": people})
            path.unlink()
    return results


def report(results: list[dict]) -> None:
    print(machine_line())
    print(f"{'rows':>8} {'file MB':>8} {'import s':>9} {'CPU s':>6} {'rows/s':>8} {'peak MB':>8} {'ok':>7}"
          f" {'failed':>6} | {'export s':>9} {'CPU s':>6} {'peak MB':>8} {'rows':>7}")
    for r in results:
        print(f"{r['n']:>8} {r['file_mb']:>8.1f} {r['seconds']:>9.1f} {r['cpu']:>6.1f} {r['n'] / r['seconds']:>8.0f} "
              f"{r['peak']:>8.1f} {r['ok']:>7} {r['failed']:>6} | {r['xseconds']:>9.1f} {r['xcpu']:>6.1f} "
              f"{r['xpeak']:>8.1f} {r['exported']:>7}")
    print("CPU s: this process's CPU time (PostgreSQL's own work is not in it); on a loaded machine wall-clock"
          " seconds grow with the load, CPU seconds much less")
    print("targets: 100,000 rows imported in < 60 s, peak < 300 MB, flat as the file grows (issue 15)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL)
    parser.add_argument("--sqlite", action="store_true", help="a scratch SQLite file instead of PostgreSQL")
    args = parser.parse_args(argv)
    if args.sqlite:
        url = f"sqlite:///{tempfile.mkdtemp(prefix='bench-import-db-')}/bench.db"
    else:
        reason = ensure_pg_database(args.pg_url)
        if reason:
            print(f"PostgreSQL not reachable: {reason}")
            return 1
        url = args.pg_url
    results = run(make_app(url), args.sizes)
    report(results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
