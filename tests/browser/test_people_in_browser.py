"""The personnel, binding and import pages in Chromium, as the roles that use them, in both languages and
at desktop and phone widths (screenshots under /tmp/shots/people/ when that folder exists)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import delete, select

SHOTS = Path("/tmp/shots/people")


def _shoot(p, name: str) -> None:  # noqa: ANN001
    if SHOTS.is_dir():
        for width in (1366, 375):
            p.page.set_viewport_size({"width": width, "height": 900})
            p.page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)


@pytest.fixture
def wang_restored(live):
    """The test resets, binds and unbinds 王立平 on the shared live server: give him back as he was."""
    from app.accounts.models import PasswordChangeRequired, User
    from app.extensions import db
    from app.people.models import Person

    with live.app.app_context():
        user = db.session.scalar(select(User).where(User.login == "wangliping"))
        person = db.session.scalar(select(Person).where(Person.user_id == user.id))
        saved = (user.password_hash, person.unit_id, person.department_id)
        db.session.remove()
    yield
    with live.app.app_context():
        user = db.session.scalar(select(User).where(User.login == "wangliping"))
        person = db.session.scalar(select(Person).where(Person.user_id == user.id))
        user.password_hash, person.unit_id, person.department_id = saved
        user.failed_logins, user.locked_until = 0, None
        db.session.execute(delete(PasswordChangeRequired).where(PasswordChangeRequired.user_id == user.id))
        db.session.commit()
        db.session.remove()


def test_people_pages_in_the_browser(person, wang_restored):
    wang = person("wangliping")
    wang.page.goto("/me/binding")
    _shoot(wang, "ask-binding-zh")
    wang.page.locator("[data-org-picker-search]").fill("市第一")
    wang.page.get_by_role("option", name="市第一人民医院").first.click()
    wang.page.get_by_role("button", name="提交申请").click()
    assert "待确认" in wang.page.content()

    admin = person("hospital_admin")
    for lang in ("zh_CN", "en"):
        suffix = "zh" if lang == "zh_CN" else "en"
        admin.page.goto(f"/people?lang={lang}")
        assert "陈诗慧" in admin.page.content()
        _shoot(admin, f"people-list-{suffix}")
        admin.page.goto("/people/new")
        _shoot(admin, f"people-new-{suffix}")
        admin.page.goto("/imports?kind=personnel")
        _shoot(admin, f"imports-{suffix}")
        admin.page.goto("/people/bindings")
        _shoot(admin, f"bindings-{suffix}")
    admin.page.goto("/people/bindings?lang=zh_CN")
    admin.page.get_by_role("checkbox", name="全选").check()
    admin.page.get_by_role("button", name="是（确认绑定）").click()
    assert "已确认1条绑定申请" in admin.page.content()
    admin.page.goto("/people?name=王立平")
    admin.page.get_by_role("link", name="查看").first.click()
    _shoot(admin, "people-view-zh")
    admin.page.get_by_role("button", name="重置密码").click()
    assert "临时密码已生成" in admin.page.content()
    _shoot(admin, "people-reset-zh")
    admin.page.get_by_role("link", name="解除绑定").click()
    _shoot(admin, "people-unbind-zh")
    admin.page.get_by_role("button", name="确认解除").click()
    assert "其培训档案保留" in admin.page.content()

    visitor = person()  # self-registration offers title series, level and education
    visitor.page.goto("/register?lang=en")
    assert visitor.page.locator("#f-title_level option").count() == 6
    _shoot(visitor, "register-en")

    health = person("health_admin")
    health.page.goto("/people")
    assert "刘文斌" in health.page.content()
    _shoot(health, "people-list-supervisory-zh")
