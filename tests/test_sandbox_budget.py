"""The sandbox of BPMN expressions has a real budget (issue #20): every value an expression builds is bounded,
one run of the engine is bounded in tasks, CPU time and data, a diagram that would loop without waiting is
refused at upload, and a run that fails is answered 422 with a generic message and leaves nothing behind."""

from __future__ import annotations

import logging
import time
import tracemalloc

import pytest
from sqlalchemy import func, select, update

from app.extensions import db
from app.processes_admin import services as processes_admin
from app.workflow import engine, services, versions
from app.workflow.models import ProcessInstance, ProcessVersion
from tests.conftest import actor, api_token
from tests.webutil import browser, form_data, text

KEY = "credit_hour_approval"
SOURCE = (versions.PROCESSES_DIR / f"{KEY}.bpmn").read_text(encoding="utf-8")
INIT_OUT = "<bpmn:outgoing>f_init</bpmn:outgoing>\n      <bpmn:script>return_count = 0</bpmn:script>"
F_INIT = '<bpmn:sequenceFlow id="f_init" sourceRef="init" targetRef="gw_unit_needed"/>'


def lint(text_: str) -> engine.ParsedProcess:
    return versions.parse_bundle(versions.bundle_from_text(text_))


def after_init(nodes: str, flows: str, entry: str, unit_lane: str = "") -> str:
    """The credit-hour diagram with ``nodes`` between the script task ``init`` and the gateway
    ``gw_unit_needed``: init → ``entry``; ``flows`` must end in the flow ``f_init`` into gw_unit_needed."""
    assert INIT_OUT in SOURCE and F_INIT in SOURCE
    edited = SOURCE.replace(INIT_OUT, INIT_OUT.replace("f_init", "f_enter"))
    edited = edited.replace(F_INIT, f'<bpmn:sequenceFlow id="f_enter" sourceRef="init" targetRef="{entry}"/>' + flows)
    edited = edited.replace('<bpmn:scriptTask id="init"', nodes + '<bpmn:scriptTask id="init"')
    return edited.replace('<bpmn:flowNodeRef>unit_review</bpmn:flowNodeRef>',
                          unit_lane + '<bpmn:flowNodeRef>unit_review</bpmn:flowNodeRef>')


def script(id_: str, incoming: list[str], outgoing: str, code: str) -> str:
    ins = "".join(f"<bpmn:incoming>{f}</bpmn:incoming>" for f in incoming)
    return (f'<bpmn:scriptTask id="{id_}">{ins}<bpmn:outgoing>{outgoing}</bpmn:outgoing>'
            f"<bpmn:script>{code}</bpmn:script></bpmn:scriptTask>")


def flow(id_: str, source: str, target: str, condition: str | None = None) -> str:
    cond = f"<bpmn:conditionExpression>{condition}</bpmn:conditionExpression>" if condition else ""
    return f'<bpmn:sequenceFlow id="{id_}" sourceRef="{source}" targetRef="{target}">{cond}</bpmn:sequenceFlow>'


def chain(n: int, code: str = "steps = return_count + 1") -> str:
    """n script tasks in a row after init: no loop, so the lint lets it through."""
    nodes = "".join(script(f"s{i}", ["f_enter" if i == 0 else f"f_s{i - 1}"], "f_init" if i == n - 1 else f"f_s{i}",
                           code) for i in range(n))
    flows = "".join(flow(f"f_s{i}", f"s{i}", f"s{i + 1}") for i in range(n - 1))
    return after_init(nodes, flows + flow("f_init", f"s{n - 1}", "gw_unit_needed"), "s0")


def spin_loop(with_user_task: bool) -> str:
    """init → gw_loop ⇄ spin (a script task), whose only way on is never taken. With ``with_user_task`` the
    loop also passes through a review that the gateway never chooses: it then waits in the lint's eyes."""
    outs = ["f_spin", "f_init"] + (["f_to_extra"] if with_user_task else [])
    ins = ["f_enter", "f_spun"] + (["f_extra_back"] if with_user_task else [])
    nodes = ('<bpmn:exclusiveGateway id="gw_loop" default="f_spin">'
             + "".join(f"<bpmn:incoming>{f}</bpmn:incoming>" for f in ins)
             + "".join(f"<bpmn:outgoing>{f}</bpmn:outgoing>" for f in outs) + "</bpmn:exclusiveGateway>"
             + script("spin", ["f_spin"], "f_spun", "return_count = return_count + 0"))
    flows = flow("f_spin", "gw_loop", "spin") + flow("f_spun", "spin", "gw_loop")
    lane = ""
    if with_user_task:
        nodes += ('<bpmn:userTask id="extra_review" name="复核"><bpmn:extensionElements><spiffworkflow:properties>'
                  '<spiffworkflow:property name="formJsonSchemaFilename" value="review.schema.json"/>'
                  '</spiffworkflow:properties></bpmn:extensionElements><bpmn:incoming>f_to_extra</bpmn:incoming>'
                  '<bpmn:outgoing>f_extra_back</bpmn:outgoing></bpmn:userTask>')
        flows += flow("f_to_extra", "gw_loop", "extra_review", "return_count == 99") + flow(
            "f_extra_back", "extra_review", "gw_loop")
        lane = "<bpmn:flowNodeRef>extra_review</bpmn:flowNodeRef>"
    return after_init(nodes, flows + flow("f_init", "gw_loop", "gw_unit_needed", "return_count &lt; 0"), "gw_loop",
                      lane)


def ping_pong() -> str:
    """Two script tasks calling each other for ever (SpiffWorkflow cannot even predict that loop)."""
    nodes = (script("ping", ["f_enter", "f_pong"], "f_ping", "return_count = return_count + 0")
             + script("pong", ["f_ping"], "f_pong", "return_count = return_count + 0"))
    edited = after_init(nodes, flow("f_ping", "ping", "pong") + flow("f_pong", "pong", "ping"), "ping")
    return edited.replace("<bpmn:incoming>f_init</bpmn:incoming>", "", 1)


def deploy_unchecked(text_: str) -> None:
    """Make ``text_`` the active version as one stored before these checks existed: parsed, never linted."""
    versions.current_version(KEY)
    bundle = versions.bundle_from_text(text_)
    latest = db.session.scalar(select(func.max(ProcessVersion.version)).where(ProcessVersion.process_key == KEY))
    db.session.execute(update(ProcessVersion).where(ProcessVersion.process_key == KEY).values(active=False))
    db.session.add(ProcessVersion(process_key=KEY, name="edited", version=latest + 1, content_hash=bundle.content_hash,
                                  bpmn_xml=text_, dmn_files=bundle.dmn_files, forms=bundle.forms, active=True))
    db.session.commit()


def upload(text_: str) -> ProcessVersion:
    return processes_admin.upload(actor("hr_province"), KEY, f"{KEY}.bpmn", text_.encode())


def upload_linted(text_: str) -> ProcessVersion:
    """Store a diagram the lint accepts without the dry run of sample cases that an administrator's upload
    also passes (which refuses the diagrams below, since their cases never reach an end): the budgets
    must hold at run time too, for a version stored before the dry run existed."""
    return versions.upload(text_, expected_key=KEY, actor=actor("hr_province"))


class cpu:  # noqa: N801 - a context manager read like a function
    """CPU seconds the block took in this thread."""

    def __enter__(self) -> cpu:
        self.start = time.thread_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.thread_time() - self.start


# --------------------------------------------------------------------------- values are bounded


@pytest.mark.parametrize("evil", [
    "str([[0] * 1000] * 1000)",                      # 3 million characters from a 1000-item list
    "sum([[0] * 1000] * 1000, [])",                  # a million items
    "[[[0] * 100] * 100] * 100 == [[[0] * 100] * 100] * 100",  # a million comparisons
    "str([a, a, a, a, a, a, a, a, a, a, a, a])",     # a literal repeating a large value
    "round(1, n)",                                   # computes 10 ** (10 ** 6)
    "'%s' % a",                                      # formatting is refused whatever the size
])
def test_expressions_cannot_multiply_the_size_of_a_value(evil):
    env = engine.SafeEnvironment()
    context = {"a": [0] * 9000, "n": -10 ** 6}
    tracemalloc.start()
    try:
        with cpu() as used, pytest.raises(engine.LimitExceeded):
            env.evaluate(evil, context)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert used.seconds < 0.5 and peak < 2_000_000  # bytes


def test_a_script_cannot_grow_a_value_by_nesting_it():
    """Each statement stays small in memory (it holds references), but the value it describes doubles."""
    doubling = "a = [0] * 1000\n" + "".join(f"a = [a, a]\nb{i} = 1\n" for i in range(20))
    with cpu() as used, pytest.raises(engine.LimitExceeded):
        engine.SafeEnvironment().execute(doubling, {})
    assert used.seconds < 0.5


def test_the_task_data_a_script_leaves_is_bounded():
    script_ = "".join(f"v{i} = 'x' * 90000\n" for i in range(3))
    with pytest.raises(engine.LimitExceeded, match="task data"):
        engine.SafeEnvironment().execute(script_, {})


def test_ordinary_expressions_work_as_before():
    env = engine.SafeEnvironment()
    assert env.evaluate("sum([[1], [2, 3]], [])", {}) == [1, 2, 3]
    assert env.evaluate("sum((1, 2.5, 3))", {}) == 6.5
    assert env.evaluate("str(hours) + '学时'", {"hours": 12}) == "12学时"
    assert env.evaluate("round(2.567, 2)", {}) == 2.57
    assert env.evaluate("0 < hours <= 90 < 100", {"hours": 12}) is True
    assert env.evaluate("0 < hours <= 10", {"hours": 12}) is False
    assert env.evaluate("lanes['unit'] and [1, 2][0] == 1", {"lanes": {"unit": True}}) is True
    assert env.evaluate("len(sum([[0] * 40000, [1] * 40000], []))", {}) == 80000
    with cpu() as used:  # the builtin copies the running total at every item: quadratic
        assert env.evaluate("len(sum(a, []))", {"a": [[0]] * 40000}) == 40000
    assert used.seconds < 0.5


# --------------------------------------------------------------------------- refused at upload


@pytest.mark.parametrize("evil, message", [
    ("__import__('os').getpid() > 0", "只能调用"),
    ("().__class__.__mro__", "不允许 属性访问"),
    ("getattr(lanes, 'unit')", "只能调用"),
    ("f'{lanes!r:>99999999}' == ''", "不允许 f 字符串"),
    ("'{0.__class__}'.format(lanes) == ''", "只能调用"),
    ("sorted(lanes)", "只能调用"),
    ("len(range(10 ** 9)) > 0", "只能调用"),
    ("list(lanes) == []", "只能调用"),
    ("''.join(lanes) == ''", "只能调用"),
    ("[x for x in lanes]", "不允许 推导式"),
    ("(lambda: 1)()", "只能调用"),
    ("lanes if (lambda: 1) else 1", "不允许 lambda"),
    ("max == min", "函数 max 只能直接调用"),
    (" or ".join(["lanes['unit']"] * 300), "表达式太长"),
])
def test_unsafe_expressions_are_refused_at_upload_naming_the_element(app, evil, message):
    with pytest.raises(processes_admin.ValidationFailed) as exc:
        upload(SOURCE.replace("lanes['supervisory_department']", evil, 1))
    # every problem is told in the page's language, on the flow whose condition it is (issue #17)
    assert message in exc.value.fields["file"] and "f_to_supervisory" in exc.value.fields["file"]
    assert "沙箱" in exc.value.fields["file"]


def test_a_loop_without_a_user_task_is_refused_naming_its_elements(app):
    with pytest.raises(engine.ProcessDefinitionError) as exc:
        lint(spin_loop(with_user_task=False))
    assert "the loop gw_loop → spin has no user task" in str(exc.value) and exc.value.element == "gw_loop"
    with pytest.raises(engine.ProcessDefinitionError, match="the loop ping → pong has no user task"):
        lint(ping_pong())
    # through the upload page's service too, and nothing is stored
    stored = select(func.count()).select_from(ProcessVersion).where(ProcessVersion.process_key == KEY)
    before = db.session.scalar(stored)
    with pytest.raises(processes_admin.ValidationFailed) as upload_error:
        upload(spin_loop(with_user_task=False))
    assert "gw_loop → spin" in upload_error.value.fields["file"]
    db.session.rollback()
    assert db.session.scalar(stored) == before


def test_a_loop_with_no_way_out_is_refused(app):
    edited = SOURCE.replace('<bpmn:sequenceFlow id="f_limit_reached" sourceRef="gw_return_limit" '
                            'targetRef="end_return_limit">', '<bpmn:sequenceFlow id="f_limit_reached" '
                            'sourceRef="gw_return_limit" targetRef="revise">', 1)
    edited = edited.replace('<bpmn:sequenceFlow id="f_withdraw" sourceRef="gw_revise" targetRef="end_withdrawn">',
                            '<bpmn:sequenceFlow id="f_withdraw" sourceRef="gw_revise" targetRef="revise">', 1)
    for reject in ("unit", "supervisory", "hr"):
        edited = edited.replace(f'id="f_{reject}_reject" sourceRef="gw_{reject}" targetRef="end_rejected_{reject}"',
                                f'id="f_{reject}_reject" sourceRef="gw_{reject}" targetRef="count_return"', 1)
    edited = edited.replace('<bpmn:sequenceFlow id="f_hr_approve" sourceRef="gw_hr" targetRef="record">',
                            '<bpmn:sequenceFlow id="f_hr_approve" sourceRef="gw_hr" targetRef="count_return">', 1)
    edited = edited.replace('<bpmn:sequenceFlow id="f_skip_hr" sourceRef="gw_hr_needed" targetRef="record"/>',
                            '<bpmn:sequenceFlow id="f_skip_hr" sourceRef="gw_hr_needed" targetRef="count_return"/>', 1)
    with pytest.raises(engine.ProcessDefinitionError, match="has no way out"):
        lint(edited)


def test_a_script_reading_a_name_nothing_provides_is_refused(app):
    with pytest.raises(engine.ProcessDefinitionError) as exc:
        lint(SOURCE.replace("return_count = 0", "return_count = retrun_count", 1))
    assert "'retrun_count'" in str(exc.value) and exc.value.element == "init"
    with pytest.raises(engine.ProcessDefinitionError, match="'reviewed'"):
        lint(SOURCE.replace("outcome == 'approve'", "reviewed == 'approve'", 1))
    # form fields, script results and what the platform provides are known
    assert lint(SOURCE.replace("return_count = 0", "return_count = 0\nlong_course = hours > 40 and lanes['unit']"
                                                   "\nby_unit = declared_by_unit", 1))


# --------------------------------------------------------------------------- stopped at run time


def test_a_loop_stored_before_the_lint_is_stopped_and_the_case_is_not_created(app, client, declaration, caplog):
    """It used to run to Python's recursion limit and the case was recorded as withdrawn, with a 201."""
    deploy_unchecked(spin_loop(with_user_task=False))
    headers = api_token(client, "chenshihui")
    with cpu() as used, caplog.at_level(logging.ERROR, logger="app.workflow.services"):
        r = client.post(f"/api/v1/processes/{KEY}/instances", json=declaration, headers=headers)
    assert r.status_code == 422, r.get_json()
    error = r.get_json()["error"]
    assert error["code"] == "process_definition_error" and error["message"].startswith("流程定义错误")
    assert "spin" not in error["message"] and "200" not in error["message"]
    assert db.session.scalar(select(func.count()).select_from(ProcessInstance)) == 0
    assert used.seconds < 1.5
    # the administrator finds the detail in the log
    assert "more than 200 tasks in one run" in caplog.text and "at spin" in caplog.text


def test_a_loop_whose_user_task_is_never_reached_is_stopped_at_run_time(app, declaration):
    with pytest.raises(processes_admin.ValidationFailed, match="试运行"):
        upload(spin_loop(with_user_task=True))  # an administrator's upload: its dry run never ends
    upload_linted(spin_loop(with_user_task=True))  # the loop passes through a user task: the lint accepts it
    db.session.commit()
    with cpu() as used, pytest.raises(services.ProcessFailed) as exc:
        services.start_process(KEY, declaration, actor=actor("chenshihui"))
    db.session.rollback()
    assert "more than 200 tasks" in exc.value.detail
    assert used.seconds < 1.5


def test_an_endless_chain_of_script_tasks_is_stopped_at_run_time(app, client, declaration):
    upload_linted(chain(250))
    db.session.commit()
    r = client.post(f"/api/v1/processes/{KEY}/instances", json=declaration, headers=api_token(client, "chenshihui"))
    assert r.status_code == 422 and r.get_json()["error"]["message"].startswith("流程定义错误")
    assert db.session.scalar(select(func.count()).select_from(ProcessInstance)) == 0
    # a long chain within the budget runs
    upload_linted(chain(100))
    db.session.commit()
    r = client.post(f"/api/v1/processes/{KEY}/instances", json=declaration, headers=api_token(client, "chenshihui"))
    assert r.status_code == 201 and r.get_json()["status"] == "running"


def test_an_unconditional_loop_stored_before_the_lint_fails_cleanly(app, declaration):
    deploy_unchecked(ping_pong())  # SpiffWorkflow predicts it without end: a RecursionError
    with pytest.raises(services.ProcessFailed) as exc:
        services.start_process(KEY, declaration, actor=actor("chenshihui"))
    assert "loops without end" in exc.value.detail


def test_the_cpu_budget_stops_a_run_inside_a_script(app, declaration, monkeypatch):
    """Comparing two 49,000-item lists is allowed and takes a few milliseconds; a diagram doing it over and
    over (40 × 0.2 s) is stopped by the run's CPU budget, checked inside the script."""
    monkeypatch.setattr(engine, "LIMITS", engine.Limits(max_steps=200, cpu_seconds=0.3))
    slow = "a = [[0]] * 49000\nb = [[0]] * 49000\n" + "c = a == b\n" * 100  # ≈ 0.2 s
    upload_linted(chain(40, slow))
    db.session.commit()
    with cpu() as used, pytest.raises(services.ProcessFailed) as exc:
        services.start_process(KEY, declaration, actor=actor("chenshihui"))
    assert "more than 0.3 s of CPU" in exc.value.detail
    assert used.seconds < 0.8


def test_the_data_one_run_adds_to_the_state_is_bounded(app, declaration):
    """Each task keeps a copy of its data in the stored state: 100 tasks carrying 90,000 characters each would
    add 9 million characters (54 MB of JSON) to one case."""
    upload_linted(chain(100, "pad = 'x' * 90000"))
    db.session.commit()
    with pytest.raises(services.ProcessFailed) as exc:
        services.start_process(KEY, declaration, actor=actor("chenshihui"))
    assert "the data of one run grew beyond" in exc.value.detail


def test_an_instance_whose_history_grows_too_deep_fails_instead_of_looking_finished(app, declaration, monkeypatch):
    """SpiffWorkflow stops looking 1000 levels down a task tree, so an instance that deep looked finished
    (and was recorded as withdrawn). The engine refuses to go that deep; here the bound is lowered."""
    instance = services.start_process(KEY, declaration, actor=actor("chenshihui"))
    db.session.commit()
    monkeypatch.setattr(engine, "MAX_TREE_DEPTH", 10)
    task = services.open_tasks(instance)[0]
    services.complete_task(task.id, {"outcome": "return", "comment": "请补充"}, actor=actor("hospital_admin"))
    db.session.commit()
    revise = services.open_tasks(instance)[0]
    with pytest.raises(services.ProcessFailed) as exc:
        services.complete_task(revise.id, {**declaration, "action": "resubmit"}, actor=actor("chenshihui"))
    db.session.rollback()
    assert "more than 10 steps in this instance's history" in exc.value.detail
    assert db.session.get(ProcessInstance, instance.id).status == "running"
    assert [t.task_spec for t in services.open_tasks(instance)] == ["revise"]


def test_the_applicant_sees_a_generic_message_on_the_web(app, declaration):
    deploy_unchecked(SOURCE.replace("return_count = 0", "return_count = retrun_count", 1))
    web = browser(app, "chenshihui")
    r = web.post_form("/declare", form_data())
    assert r.status_code == 422
    page = text(r)
    assert "流程定义错误" in page and "NameError" not in page and "retrun_count" not in page
    assert db.session.scalar(select(func.count()).select_from(ProcessInstance)) == 0


def test_compiled_expressions_are_kept_in_a_bounded_cache():
    """The editor checks each expression as the administrator types it (``/validate?expression=1``): every text
    was compiled into a process-wide cache that was never emptied, so a long session (or a script) grew the
    worker's memory without bound."""
    from app.workflow import engine

    for i in range(engine.COMPILED_CACHE_SIZE + 500):
        engine.check_expression(f"year + {i}")
    assert len(engine._COMPILED) <= engine.COMPILED_CACHE_SIZE
    engine.check_expression("year + 1")  # still answers after entries were dropped
