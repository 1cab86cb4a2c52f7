"""The benchmark scripts still run end to end (tiny N, SQLite), so they cannot rot.

No timing is asserted: the scripts only print figures; here they must complete and find what
they measured in the state a user would see (approved chains with their recognised hours, an
inbox that lists the generated tasks).
"""

from __future__ import annotations

import pytest

from bench import bench_chain, bench_inbox


def test_chain_benchmark_runs_whole_chains_on_sqlite(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_chain.main(["3", "--db", "sqlite", "--reps", "1", "--warmup", "1"]) == 0
    out = capsys.readouterr().out
    assert "SQLite (file, service layer)" in out
    assert "raw SpiffWorkflow (b1, spec embedded)" in out
    assert "ratio service / raw per chain" in out


def test_inbox_benchmark_generates_tasks_and_pages_them_on_sqlite(capsys: pytest.CaptureFixture[str]) -> None:
    results = bench_inbox.run(400, db_choice="sqlite", repeat=1)
    busy = [r for r in results if r.who == "hr_city" and r.case == "no filter"]
    assert busy and busy[0].total > 20  # the city bureau's reviewer sees a multi-page inbox
    assert {r.page for r in busy} == {1, busy[0].total // bench_inbox.PER_PAGE + (busy[0].total % 20 > 0)}
    assert any(r.case.startswith("full ID number") and r.total >= 1 for r in results)
    bench_inbox.report(results)
    assert "slowest:" in capsys.readouterr().out


def test_chain_benchmark_runs_processes_at_once_on_postgresql(capsys: pytest.CaptureFixture[str]) -> None:
    """--processes: whole chains in several processes on one PostgreSQL database, each checked approved."""
    from tests.conftest import IN_CI, PG_URL, postgres_available, run_database_url

    reason = postgres_available()
    if reason:
        if IN_CI:
            pytest.fail(f"CI=true but PostgreSQL at {PG_URL} is not reachable: {reason}")
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}: {reason}")
    # a database of its own: the benchmark drops and re-creates the schema of the one it is given
    scratch = run_database_url("bench")
    assert bench_chain.main(["2", "--db", "postgres", "--pg-url", scratch, "--reps", "1", "--warmup", "1",
                             "--processes", "2", "--threads", "2"]) == 0
    out = capsys.readouterr().out
    assert "PostgreSQL (service layer)" in out
    assert "1 process at once, 2 chains each" in out and "2 processes at once, 2 chains each" in out
    assert "1 thread in one process, 2 chains each" in out and "2 threads in one process, 2 chains each" in out


def test_import_benchmark_imports_and_exports_on_sqlite(capsys: pytest.CaptureFixture[str]) -> None:
    from bench import bench_import

    assert bench_import.main(["--sqlite", "--sizes", "120"]) == 0
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if ln.strip().startswith("120 "))
    # 1 row in 100 contradicts its ID number: refused, the others imported and exported again
    assert line.split()[6:8] == ["118", "2"] and line.split()[-1] == "118"


def test_classes_benchmark_closes_and_imports_on_sqlite(capsys: pytest.CaptureFixture[str]) -> None:
    from bench import bench_classes

    assert bench_classes.main(["--sqlite", "--close", "30", "--grades", "100"]) == 0
    lines = {ln.split()[0] + ln.split()[1]: ln.split() for ln in capsys.readouterr().out.splitlines()
             if ln.startswith(("close", "grade"))}
    assert lines["close30"][-3:] == ["27", "3", "27"]  # 9 in 10 passed: as many archive records
    assert lines["gradeimport"][-3:] == ["99", "1", "99"]  # 1 row in 100 names a person not enrolled


def test_memory_benchmark_serves_the_mix_from_one_worker(capsys: pytest.CaptureFixture[str]) -> None:
    """bench_memory: one gunicorn worker answers the whole mix (API and signed-in pages) without an error, and the
    memory table has a row per sample."""
    from bench import bench_memory
    from tests.conftest import IN_CI, PG_URL, postgres_available, run_database_url

    reason = postgres_available()
    if reason:
        if IN_CI:
            pytest.fail(f"CI=true but PostgreSQL at {PG_URL} is not reachable: {reason}")
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}: {reason}")
    result = bench_memory.run(300, clients=2, sample=100, backlog=10, pg_url=run_database_url("bench_memory"))
    assert result["errors"] == [] and result["same_worker"]
    assert [row[0] for row in result["rows"]] == [0, 100, 200, 300]
    out = capsys.readouterr().out
    assert "MB per 10,000 requests" in out and "errors: 0" in out
