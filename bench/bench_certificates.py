"""Certificate PDFs: time per certificate and a batch of 1,000 through the background job.

    .venv/bin/python -m bench.bench_certificates [--n 1000] [--single 30] [--pg-url URL]

1. *Per certificate*: ``render_pdf`` of one issued certificate (xhtml2pdf, embedded Noto Sans SC
   subset, QR code), after one warm-up render that parses the fonts; median and spread of
   ``--single`` renders, plus the full ``POST /api/v1/certificates`` answer-and-download path.
2. *Batch*: ``--n`` people with a verified year, one ``certificate_batch`` job run inline
   (issue + render + stream into the zip + progress commits), with the resident set size sampled
   every 20 ms: RSS after 10 %, 50 % and 100 % of the batch and the peak above the starting level.

Runs on a scratch SQLite file by default (``--pg-url`` for PostgreSQL: its public schema is
dropped). Target: under 150 ms a certificate; memory flat over the batch. Prints figures only.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import tempfile
import threading
import time
import zipfile
from decimal import Decimal
from pathlib import Path

from sqlalchemy import insert, select

from app.accounts.models import Organisation
from app.archive.models import CreditRecord
from app.certificates import batch, services
from app.certificates.render import render_pdf
from app.extensions import db
from app.people.models import Person
from app.taskcentre import files
from app.taskcentre.models import BackgroundJob
from bench._common import actor, ensure_pg_database, machine_line, make_app, median, spread

TARGET_MS = 150.0
YEAR = 2025
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_number(i: int) -> str:
    body = f"350102{1970 + i % 30}{1 + i % 12:02d}{1 + i % 28:02d}{i % 1000:03d}"
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, _WEIGHTS, strict=True)) % 11]


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class RssSampler:
    def __init__(self) -> None:
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_mb())
            time.sleep(0.02)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def seed_people(n: int) -> list[int]:
    """``n`` people in 市第一人民医院, each with a verified year (24 public + 66 professional hours)."""
    unit = db.session.scalar(select(Organisation).where(Organisation.name == "市第一人民医院"))
    surnames, given = "陈刘王李张杨黄赵吴周徐孙马朱胡郭何高林罗", "诗慧文斌立平子涵雨桐浩然一鸣思远欣怡嘉懿梓萱"
    rows = [{"name": surnames[i % len(surnames)] + given[i % 17:i % 17 + 2], "id_number": id_number(i),
             "unit_id": unit.id, "gender": "女" if i % 2 else "男"} for i in range(n)]
    db.session.execute(insert(Person), rows)
    ids = list(db.session.scalars(select(Person.id).where(Person.id_number.in_([r["id_number"] for r in rows]))))
    records = []
    for k, pid in enumerate(ids):
        for j, (subject, hours) in enumerate((("public", 24), ("professional", 66))):
            records.append({"person_id": pid, "year": YEAR, "subject_type": subject, "course_name": "继续教育课程",
                            "declared_hours": Decimal(hours), "recognised_hours": Decimal(hours),
                            "source": "bench", "source_id": 2 * k + j})
    db.session.execute(insert(CreditRecord), records)
    db.session.commit()
    return ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1000, help="people in the batch (default 1000)")
    parser.add_argument("--single", type=int, default=30, help="single renders to time (default 30)")
    parser.add_argument("--pg-url", default=None, help="PostgreSQL scratch database instead of SQLite")
    args = parser.parse_args()

    scratch = tempfile.mkdtemp(prefix="cepp-bench-cert-")
    url = args.pg_url or f"sqlite:///{scratch}/bench.sqlite3"
    if args.pg_url and (reason := ensure_pg_database(args.pg_url)):
        raise SystemExit(f"PostgreSQL not reachable at {args.pg_url}: {reason}")
    app = make_app(url)
    app.config["JOBS_DIR"] = scratch
    print(machine_line())
    print(f"database: {'PostgreSQL' if args.pg_url else 'SQLite file'}; batch of {args.n}; year {YEAR}")
    try:
        with app.app_context(), app.test_request_context(base_url="https://cepp.example.gov.cn/"):
            t0 = time.perf_counter()
            ids = seed_people(args.n)
            print(f"seeded {len(ids)} people with a verified year in {time.perf_counter() - t0:.1f} s")
            admin = actor("hospital_admin")

            # 1. one certificate
            person = db.session.get(Person, ids[0])
            cert = services.issue(admin, person, YEAR)
            db.session.commit()
            view = services.certificate_view(cert, f"https://cepp.example.gov.cn/certificates/verify/{cert.number}")
            t0 = time.perf_counter()
            buf = io.BytesIO()
            render_pdf(view, buf)
            first_ms = (time.perf_counter() - t0) * 1000
            times = []
            for _ in range(args.single):
                buf = io.BytesIO()
                t0 = time.perf_counter()
                render_pdf(view, buf)
                times.append((time.perf_counter() - t0) * 1000)
            size_kb = len(buf.getvalue()) / 1024
            client = app.test_client()
            token = client.post("/api/v1/auth/token", json={"login": "hospital_admin", "password": "Demo12345"})
            headers = {"Authorization": f"Bearer {token.get_json()['token']}"}
            api_times = []
            for pid in ids[1:11]:
                number = db.session.get(Person, pid).id_number
                t0 = time.perf_counter()
                r = client.post("/api/v1/certificates", json={"person_id_number": number, "year": YEAR},
                                headers=headers)
                with client.get(r.get_json()["pdf_url"], headers=headers) as pdf:
                    assert pdf.status_code == 200
                api_times.append((time.perf_counter() - t0) * 1000)
            med = median(times)
            print(f"\nfirst render (parses the two 10.6 MB font files): {first_ms:.0f} ms")
            print(f"per certificate, render only: median {med:.1f} ms (spread {spread(times):.0f} %, "
                  f"n={len(times)}), PDF {size_kb:.0f} KB -> {'OK' if med < TARGET_MS else 'ABOVE'} "
                  f"target {TARGET_MS:.0f} ms")
            print(f"per certificate, API issue + download: median {median(api_times):.1f} ms (n={len(api_times)})")

            # 2. the batch
            job = batch.start_batch(admin, ids, YEAR, "https://cepp.example.gov.cn/")
            db.session.commit()
            marks: dict[int, float] = {}
            real = batch.render_pdf
            checkpoints = {max(1, args.n // 10): "10%", max(1, args.n // 2): "50%", args.n: "100%"}
            counter = {"i": 0}

            def measured(v, fh):  # noqa: ANN001
                real(v, fh)
                counter["i"] += 1
                if counter["i"] in checkpoints:
                    marks[counter["i"]] = rss_mb()

            batch.render_pdf = measured
            start_rss = rss_mb()
            try:
                with RssSampler() as sampler:
                    t0 = time.perf_counter()
                    status = batch.run_batch(job.id)
                    elapsed = time.perf_counter() - t0
            finally:
                batch.render_pdf = real
            job = db.session.get(BackgroundJob, job.id)
            zip_path = os.path.join(scratch, "result.zip")
            files.copy_to(job.result_path, Path(zip_path))  # stored in the database, piece by piece
            with zipfile.ZipFile(zip_path) as zf:
                pdfs = sum(1 for n in zf.namelist() if n.endswith(".pdf"))
            print(f"\nbatch job: {status}, {pdfs} PDFs in {os.path.getsize(zip_path) / 2**20:.1f} MB zip, "
                  f"{elapsed:.1f} s total = {elapsed * 1000 / max(1, args.n):.1f} ms a certificate "
                  f"(issue + render + zip + progress)")
            line = ", ".join(f"{checkpoints[k]} {v:.0f} MB" for k, v in sorted(marks.items()))
            print(f"RSS: start {start_rss:.0f} MB; after {line}; peak {sampler.peak:.0f} MB "
                  f"(growth over the batch {sampler.peak - start_rss:+.0f} MB; "
                  f"10%->100% {marks.get(args.n, 0) - marks.get(max(1, args.n // 10), 0):+.0f} MB)")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
