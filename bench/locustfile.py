"""Locust users for bench/bench_load.py: the realistic mix of issue 19 against a running server.

Weights: 50 % inbox pages (GET /api/v1/tasks, a reviewer), 30 % case views (GET /api/v1/instances/<id>, the
applicant), 15 % decisions (POST /api/v1/tasks/<id>/complete, approve, a task seen in that reviewer's inbox),
5 % declarations (POST /api/v1/processes/credit_hour_approval/instances). A decision that loses a race to
another user's decision on the same task answers 409; it is counted under its own name, not as an error."""

from __future__ import annotations

import os
import random
import threading

from locust import HttpUser, between, task

#: As bench/_common.py's (not imported: this file runs in locust's gevent world, without the app).
DECLARATION = {
    "year": 2026, "subject_type": "professional", "course_name": "急诊医学新进展", "learning_form": "face_to_face",
    "start_date": "2026-03-01", "end_date": "2026-03-03", "days": 3, "hours": 18, "institution_name": "市继续教育学院",
    "location": "福州", "content": "急诊医学培训", "assessment_result": "pass",
}

REVIEWERS = ("hospital_admin", "health_admin", "hr_city")
APPLICANTS = ("chenshihui", "liuwenbin")
_TOKENS: dict[str, str] = {}
_SEEN: dict[str, list[str]] = {r: [] for r in REVIEWERS}  # task ids a reviewer's inbox showed
#: Cases to view: the backlog bench_load.py created (ids of chenshihui's applications), then new declarations.
_CASES: list[int] = [int(x) for x in os.environ.get("BENCH_CASES", "").split(",") if x]
_LOCK = threading.Lock()
#: With generated open tasks (bench_load --open-tasks): instances below this id are the generator's, rows for the
#: inbox with no workflow behind them, which no one can decide. Decisions take real tasks only, and half of the inbox
#: views show the newest first (where the real ones are); the other half keep the default order (oldest first).
_FIRST_REAL = int(os.environ.get("BENCH_FIRST_REAL_INSTANCE") or 0)


class Platform(HttpUser):
    wait_time = between(0.2, 1.0)

    def _token(self, login: str) -> str:
        with _LOCK:
            known = _TOKENS.get(login)
        if known is None:
            r = self.client.post("/api/v1/auth/token", json={"login": login, "password": "Demo12345"},
                                 name="sign-in (token)")
            known = r.json()["token"]
            with _LOCK:
                _TOKENS[login] = known
        return known

    def _auth(self, login: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token(login)}"}

    def on_start(self) -> None:
        for login in (*REVIEWERS, *APPLICANTS):
            self._token(login)

    @task(50)
    def inbox(self) -> None:
        reviewer = random.choice(REVIEWERS)
        newest = _FIRST_REAL > 0 and random.random() < 0.5
        r = self.client.get("/api/v1/tasks" + ("?sort=-arrived" if newest else ""), headers=self._auth(reviewer),
                            name="inbox (newest first)" if newest else "inbox")
        if r.ok:
            ids = [t["id"] for t in r.json()["items"] if t["instance_id"] >= _FIRST_REAL]
            if ids or not _FIRST_REAL:
                with _LOCK:
                    _SEEN[reviewer] = ids

    @task(30)
    def case(self) -> None:
        with _LOCK:
            if not _CASES:
                return
            case_id = random.choice(_CASES)
        self.client.get(f"/api/v1/instances/{case_id}", headers=self._auth("chenshihui"), name="case view")

    @task(15)
    def decision(self) -> None:
        reviewer = random.choice(REVIEWERS)
        with _LOCK:
            if not _SEEN[reviewer]:
                return
            task_id = _SEEN[reviewer].pop(random.randrange(len(_SEEN[reviewer])))
        with self.client.post(f"/api/v1/tasks/{task_id}/complete", json={"outcome": "approve", "comment": ""},
                              headers=self._auth(reviewer), name="decision", catch_response=True) as r:
            if r.status_code == 409:  # another user decided it first: the user is told so; not a failure
                r.success()
                self.environment.events.request.fire(request_type="POST", name="decision (lost race, 409)",
                                                     response_time=r.elapsed.total_seconds() * 1000,
                                                     response_length=0, exception=None, context={})

    @task(5)
    def declaration(self) -> None:
        r = self.client.post("/api/v1/processes/credit_hour_approval/instances", json=DECLARATION,
                             headers=self._auth("chenshihui"), name="declaration")
        if r.status_code == 201:
            with _LOCK:
                _CASES.append(r.json()["id"])
