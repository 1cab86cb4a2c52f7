"""Property-based tests (hypothesis) of everything that reads input: every form in ``forms/`` through the
form layer the views use (``coerce`` → ``defaults_from`` → ``validate``), every start form through
``start_process``, and the API's bodies and query strings through the test client.

Generated values include NaN and infinities, numbers beyond 64 bits, numeric-looking text ("nan", "1e999",
"²"), control characters, lone surrogates, long text and values nested thousands deep, mixed with valid
values so that some submissions pass. The properties:

* the form layer and ``start_process`` either refuse with field errors (ValidationFailed) or accept, and
  what they accept and store is JSON-safe: finite numbers within 64 bits, text that UTF-8 and PostgreSQL
  can hold (no NUL or other control characters but tab and line breaks, no lone surrogates);
* the API never answers 5xx, every error has the shape ``{"error": {"code", "message", "fields"}}``, and
  every answer is standard JSON (no NaN).

The counts of cases tried and failures are printed at the end of the run (tests/conftest.py).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from app.core.errors import ValidationFailed
from app.extensions import db
from app.workflow import services
from app.workflow.forms import FORMS_DIR, coerce, defaults_from, load_form, validate
from tests.conftest import DECLARATION, IN_CI, api_token, record_fuzz

#: Bounded runs: the whole file stays well under a minute on the CI machine. Under CI the examples are
#: derived from the test's name (reproducible); locally each run explores new ones.
SETTINGS = settings(max_examples=40, deadline=None, database=None, derandomize=IN_CI,
                    suppress_health_check=list(HealthCheck))

# --------------------------------------------------------------------------- what "JSON-safe" means


def unsafe_reason(value: Any, path: str = "") -> str | None:
    """Why ``value`` could not be stored and answered as standard JSON (checked independently of the
    application's own checks), or None."""
    stack = [(path, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return f"{where}: lone surrogate"
            if any(ord(c) < 32 and c not in "\t\n\r" for c in item):
                return f"{where}: control character"
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, float):
            if not math.isfinite(item):
                return f"{where}: {item}"
        elif isinstance(item, int):
            if abs(item) > 2**63 - 1:
                return f"{where}: integer beyond 64 bits"
        elif isinstance(item, dict):
            stack.extend((f"{where}.{k}", k) for k in item)
            stack.extend((f"{where}.{k}", v) for k, v in item.items())
        elif isinstance(item, list):
            stack.extend((f"{where}[{i}]", v) for i, v in enumerate(item))
        else:
            return f"{where}: {type(item).__name__}"
    return None


def strict_json(text: str) -> Any:
    def refuse(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")
    return json.loads(text, parse_constant=refuse)


# --------------------------------------------------------------------------- generated values

CONTROL = st.characters(min_codepoint=0, max_codepoint=0x1F)
SURROGATE = st.characters(categories=["Cs"])
ANY_CHAR = st.characters(exclude_categories=[])
TEXT = st.text(st.one_of(ANY_CHAR, CONTROL, SURROGATE, st.sampled_from("急诊医学 abc")), max_size=24)
NUMBERS = st.one_of(
    st.floats(), st.integers(),
    st.sampled_from([math.nan, math.inf, -math.inf, 2**63, -(2**63) - 1, 10**30, 1e308, -0.0, 5e-324]))
NUMERIC_TEXT = st.sampled_from(["nan", "NaN", "inf", "-Infinity", "1e999", "1e308", "²", "１２", "٣", " 7 ",
                                "0", "-1", "3.14159", "12.5", "99999999999999999999", "0x10", "1_000", ""])
LEAVES = st.one_of(st.none(), st.booleans(), TEXT, NUMBERS, NUMERIC_TEXT)
NESTED = st.recursive(LEAVES, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
                      max_leaves=8)


class Deep:
    """A value nested ``depth`` levels deep (lists and objects in turn), built only when submitted, so that
    hypothesis can print a failing example as ``Deep(3000)``."""

    def __init__(self, depth: int) -> None:
        self.depth = depth

    def __repr__(self) -> str:
        return f"Deep({self.depth})"

    def build(self) -> Any:
        value: Any = "底"
        for i in range(self.depth):
            value = [value] if i % 2 else {"k": value}
        return value


def built(value: Any) -> Any:
    """``value`` with every :class:`Deep` in it (at any depth of lists and dicts) built."""
    if isinstance(value, Deep):
        return value.build()
    if isinstance(value, list):
        return [built(v) for v in value]
    if isinstance(value, dict):
        return {k: built(v) for k, v in value.items()}
    return value


LONG_TEXT = st.integers(1_000, 60_000).map(lambda n: "学" * n)
HUGE = st.one_of(LONG_TEXT, st.integers(10, 5_000).map(Deep), st.integers(100, 2_000).map(lambda n: list(range(n))))
HOSTILE = st.one_of(LEAVES, NESTED, HUGE)
#: The same for a JSON body (json.dumps itself stops near 1,000 levels; the API refuses more than 64).
HOSTILE_JSON = st.one_of(LEAVES, NESTED, LONG_TEXT, st.integers(10, 400).map(Deep))


def plausible(prop: dict) -> st.SearchStrategy:
    """Values a person might really submit for the property (so that some submissions pass)."""
    choices = [o["const"] for o in prop.get("oneOf", []) if "const" in o]
    if choices:
        return st.sampled_from(choices)
    kind, fmt = prop.get("type"), prop.get("format")
    if fmt == "date":
        return st.dates(date(2026, 1, 1), date(2026, 12, 31)).map(date.isoformat)
    if fmt == "id-number":
        return st.sampled_from(["110101199003072711", "321101198110166954", "11010519491231002x"])
    if fmt == "uscc":
        return st.sampled_from(["91410104MA9G8NFR0H", "91410104MA9G8NFR0J"])
    if fmt == "mobile":
        return st.sampled_from(["13800138000", "12800138000"])
    if kind == "integer":
        return st.integers(0, 3000) | st.integers(0, 3000).map(str)
    if kind == "number":
        return st.floats(0, 1200, allow_nan=False).map(lambda x: round(x, 1)) | st.sampled_from(["12", "7.5"])
    if kind == "boolean":
        return st.sampled_from([True, False, "true", "on", ""])
    if kind == "array":
        return st.lists(st.integers(1, 30), max_size=3)
    return st.text(st.sampled_from("急诊医学培训 Aa1-\t\n"), max_size=40)


def submissions(schema: dict, base: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """``base`` (a valid submission) with one to three fields replaced by plausible or hostile values, and
    now and then a field the form does not have."""
    props = schema.get("properties", {})
    names = sorted(props) + ["not_on_the_form"]

    @st.composite
    def build(draw: Callable) -> dict[str, Any]:
        raw = dict(base)
        for name in draw(st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True)):
            prop = props.get(name, {})
            raw[name] = draw(st.one_of(plausible(prop), HOSTILE) if prop else HOSTILE)
        if draw(st.booleans()) and raw:
            raw.pop(draw(st.sampled_from(sorted(raw))))
        return raw
    return build()


# --------------------------------------------------------------------------- the form layer, every form

FORMS = sorted(p.name for p in Path(FORMS_DIR).glob("*.schema.json"))
#: Instance data a task form is validated against (x-maximum-field, x-default-from, dates).
CONTEXT = {**DECLARATION, "hours": 18.0}


def form_base(name: str) -> dict[str, Any]:
    if name.startswith("credit_hour"):
        return {**{k: str(v) for k, v in DECLARATION.items()}, "action": "resubmit"}
    if "review" in name:
        return {"outcome": "approve", "comment": "同意"}
    return {"reason": "信息有误", "action": "resubmit"}


@pytest.mark.parametrize("name", FORMS)
def test_every_form_refuses_per_field_or_accepts_only_json_safe_data(app, name):
    schema = load_form(name)
    tried = failures = 0

    @SETTINGS
    @given(raw=submissions(schema, form_base(name)))
    def check(raw: dict[str, Any]) -> None:
        nonlocal tried, failures
        tried += 1
        try:
            data = defaults_from(schema, coerce(schema, built(raw)), CONTEXT)
            errors = validate(schema, data, CONTEXT)
            assert isinstance(errors, dict)
            assert all(isinstance(k, str) and isinstance(v, str) and v for k, v in errors.items()), errors
            assert set(errors) <= set(schema.get("properties", {})) | {"_form"}, errors
            if not errors:
                assert unsafe_reason(data) is None, unsafe_reason(data)
        except BaseException:
            failures += 1
            raise

    try:
        check()
    finally:
        record_fuzz(f"form layer: {name}", tried, failures)


# --------------------------------------------------------------------------- start_process, every start form

#: process key → (login of the actor, a valid start submission).
STARTS: dict[str, tuple[str, Callable[[], dict[str, Any]]]] = {
    "credit_hour_approval": ("hospital_admin", lambda: {**DECLARATION, "person_id_number": "110101199003072711"}),
    "person_info_change": ("chenshihui", lambda: {"reason": "学历变更", "major": "急诊医学"}),
    "organisation_info_change": ("hospital_admin", lambda: {"reason": "更名", "name": "市第一人民医院（新）"}),
    "change_of_superior": ("tech_admin", lambda: {"reason": "隶属关系调整", "new_superior_id": 1}),
}


@pytest.mark.parametrize("key", sorted(STARTS))
def test_start_process_refuses_per_field_or_stores_json_safe_data(app, as_user, key):
    login, base = STARTS[key]
    actor = as_user(login)
    _version, schema, _ui = services.start_form(key)
    db.session.commit()
    tried = failures = started = 0

    @SETTINGS
    @given(raw=submissions(schema, base()))
    @example(raw=base())  # valid as it is: at least one submission reaches the stored data
    def check(raw: dict[str, Any]) -> None:
        nonlocal tried, failures, started
        tried += 1
        savepoint = db.session.begin_nested()
        try:
            try:
                instance = services.start_process(key, built(raw), actor=actor)
            except ValidationFailed as exc:
                assert exc.fields and all(isinstance(v, str) and v for v in exc.fields.values()), exc.fields
                return
            db.session.flush()
            started += 1
            state = strict_json(instance.state_json)  # the stored state is standard JSON
            assert unsafe_reason(state) is None, unsafe_reason(state)
            assert unsafe_reason(services.instance_data(instance)) is None
            assert unsafe_reason([instance.applicant_name, instance.title, instance.year]) is None
        except BaseException:
            failures += 1
            raise
        finally:
            savepoint.rollback()

    try:
        check()
    finally:
        record_fuzz(f"start_process: {key} ({started} started)", tried, failures)
    assert started, "not even the valid submission started: the property no longer reaches the stored data"


# --------------------------------------------------------------------------- the API's bodies and queries


def body_fields(doc: dict, operation: dict) -> dict[str, dict]:
    """The documented properties of an operation's JSON body (``$ref`` and ``allOf`` resolved one level)."""
    schema = (operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")) or {}
    if "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    props = dict(schema.get("properties", {}))
    for part in schema.get("allOf", []):
        props.update(part.get("properties", {}))
    return props


RAW_BODIES = st.one_of(
    st.sampled_from(["", "null", "[]", "1", '"x"', "{", '{"a": NaN}', '{"a": Infinity}', '{"a": 1e400}',
                     '{"a": "\\ud800"}', '{"a": "\\u0000"}', "[" * 70 + "]" * 70, "[" * 5000,
                     '{"a": ' + "9" * 5000 + "}", '{"a": "\\x"}']),
    st.binary(max_size=40).map(lambda b: b.decode("latin-1")),
)


def api_calls(client, tokens: dict[str, dict]) -> list[tuple[str, str, dict, dict[str, dict], list[str]]]:
    """(method, url, headers, body fields, query names) of every API operation, path parameters filled
    with real ids where the seeded data has them."""
    doc = client.get("/api/v1/openapi.json").get_json()
    chen = tokens["chenshihui"]
    r = client.post("/api/v1/processes/credit_hour_approval/instances", json=DECLARATION, headers=chen)
    instance_id = r.get_json()["id"]
    task_id = client.get("/api/v1/tasks", headers=tokens["hospital_admin"]).get_json()["items"][0]["id"]
    fill = {"id": str(instance_id), "key": "credit_hour_approval", "number": "CE2026000001", "mid": "1",
            "role_id": "1", "dept_id": "1", "org_id": "3"}
    calls = []
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            url = path
            for name, value in fill.items():
                url = url.replace("{" + name + "}", task_id if path.startswith("/tasks/{id}") else value)
            headers = tokens["hospital_admin"] if path.startswith("/tasks/") else tokens["hr_city"]
            if path.startswith(("/profile", "/archive")):
                headers = chen
            queries = [p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"]
            calls.append((method, "/api/v1" + url, headers, body_fields(doc, operation), queries))
    return calls


def test_the_api_never_answers_5xx_and_always_in_the_error_shape(app, client):
    tokens = {login: api_token(client, login) for login in ("chenshihui", "hospital_admin", "hr_city")}
    calls = api_calls(client, tokens)
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a 500 is an answer here, as in production
    tried = failures = 0

    @settings(SETTINGS, max_examples=8 * len(calls))
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        nonlocal tried, failures
        tried += 1
        method, url, headers, fields, queries = data.draw(st.sampled_from(calls), label="call")
        query = [(name, data.draw(st.one_of(TEXT, NUMERIC_TEXT, NUMBERS.map(str)), label=name))
                 for name in data.draw(st.lists(st.sampled_from(queries + ["lang", "q", "page"]), max_size=3))]
        # a lone surrogate goes out as the bytes UTF-8 would give it (ED A0 80), as a careless client sends it
        kwargs: dict[str, Any] = {"headers": headers,
                                  "query_string": urlencode(query, encoding="utf-8", errors="surrogatepass")}
        if method != "get":
            if fields and data.draw(st.booleans()):
                body = {name: data.draw(st.one_of(plausible(fields[name]), HOSTILE_JSON), label=name)
                        for name in data.draw(st.lists(st.sampled_from(sorted(fields)), max_size=4, unique=True))}
                # NaN and Infinity as Python writes them
                text = json.dumps(built(body), ensure_ascii=data.draw(st.booleans()))
            else:
                text = data.draw(RAW_BODIES, label="body")
            kwargs.update(data=text.encode("utf-8", "surrogatepass"), content_type="application/json")
        try:
            resp = getattr(client, method)(url, **kwargs)
            assert resp.status_code < 500, (method, url, resp.status_code, resp.get_data(as_text=True)[:500])
            if resp.content_type == "application/json":
                answer = strict_json(resp.get_data(as_text=True))
                if resp.status_code >= 400:
                    assert set(answer) == {"error"} and set(answer["error"]) == {"code", "message", "fields"}
                    assert all(isinstance(v, str) for v in answer["error"]["fields"].values())
            else:
                assert resp.status_code < 400 and not url.endswith("complete"), (url, resp.content_type)
        except BaseException:
            failures += 1
            raise
        finally:
            db.session.rollback()

    try:
        check()
    finally:
        app.config["PROPAGATE_EXCEPTIONS"] = None
        record_fuzz(f"API bodies and queries: {len(calls)} operations", tried, failures)
