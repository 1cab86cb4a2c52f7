"""English mode covers every page a demo account reaches: each page of the navigation and each page
those link to (cases, tasks, archive years, certificates, jobs), with the demo history loaded so that
badges, verification reasons and decisions are on them. Chinese may remain only in data: names,
organisations, regions, courses, comments, title series and custom role names."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from sqlalchemy import select

from app.accounts.models import Organisation, User
from app.archive.models import CreditRecord
from app.demo_history import seed_history
from app.extensions import db
from app.orgadmin.models import AdminRole, Department
from app.people.models import Person
from app.workflow.models import ApprovalEvent, WorkflowTask
from tests.test_pages_smoke import LOGINS, _nav_links
from tests.webutil import browser, text

CJK = re.compile(r"[\u3400-\u9fff]+")
#: Not pages: files, actions, the language switch, and the API.
SKIP = re.compile(r"^/(static|api|logout|bootstrap)|\.(pdf|xlsx|zip|png|svg|bpmn)$|/(download|file|captcha)")


def data_runs() -> set[str]:
    """The Chinese of data values: what a user typed or an administrator named."""
    values: list[str | None] = []
    for column in (User.name, Organisation.name, Organisation.region, Person.title_series, Person.major,
                   AdminRole.name, Department.name, CreditRecord.course_name, CreditRecord.institution_name,
                   ApprovalEvent.comment, WorkflowTask.applicant_name):
        values += db.session.scalars(select(column).distinct())
    values.append("福州")  # the location typed into the demo history's declarations (kept in the case's data)
    return {run for v in values if v for run in CJK.findall(v)} | {"中文"}


def links(html: str) -> list[str]:
    hrefs = re.findall(r'href="(/[^"#]*)"', html)
    return sorted({h.split("?")[0] for h in hrefs if not SKIP.search(urlsplit(h).path)})


def test_english_pages_show_no_chinese_but_data(app) -> None:
    seed_history()
    db.session.commit()
    data = data_runs()
    left: dict[str, set[str]] = {}
    for login in LOGINS:
        web = browser(app, login)
        home = web.client.get("/?lang=en", follow_redirects=True).get_data(as_text=True)
        seen: set[str] = set()
        for nav in _nav_links(home):
            page = web.client.get(nav, follow_redirects=True)
            assert page.status_code == 200, (login, nav)
            for href in [nav, *links(page.get_data(as_text=True))]:
                if href in seen:
                    continue
                seen.add(href)
                r = page if href == nav else web.client.get(href, follow_redirects=True)
                if r.status_code != 200 or not r.content_type.startswith("text/html"):
                    continue
                for run in set(CJK.findall(text(r))) - data:
                    left.setdefault(run, set()).add(f"{login} {href}")
    assert left == {}, {k: sorted(v)[:3] for k, v in left.items()}
