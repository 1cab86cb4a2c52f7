"""Issue 21's journey through the import centre in Chromium: a unit administrator (hospital_admin) adds a person,
downloads the personnel template, fills it in, imports it from the import page, watches the progress bar while
the job runs, and downloads the failure file with the reason of the refused row."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect
from sqlalchemy import delete, select

from tests.browser.conftest import ARTIFACTS, shoot
from tests.test_imports import id_number

ROWS = 600  # two batches of 500: the page is looked at while the second waits
BORN = "19880808"


@pytest.fixture
def gate(live):
    """Holds the import's second batch until the test has seen the progress bar; removes the people after."""
    from app.imports import registry

    kind = registry.get("personnel")
    real = kind.apply
    reached, release = threading.Event(), threading.Event()
    calls = []

    def apply(batch):  # noqa: ANN001, ANN202
        calls.append(len(batch.rows))
        if len(calls) == 2:
            reached.set()
            release.wait(60)
        return real(batch)

    object.__setattr__(kind, "apply", apply)
    yield reached, release
    release.set()
    object.__setattr__(kind, "apply", real)
    from app.extensions import db
    from app.people.models import Person

    with live.app.app_context():
        db.session.execute(delete(Person).where(Person.name.startswith("旅程")))
        db.session.commit()
        db.session.remove()


def test_a_unit_adds_a_person_and_imports_its_staff(person, gate, tmp_path: Path) -> None:
    reached, release = gate
    admin = person("hospital_admin")
    page = admin.page

    # one person through the form
    page.goto("/people")
    page.get_by_role("link", name="新增人员").click()
    page.locator("#p-name").fill("旅程新人")
    page.locator("#p-id_number").fill(id_number(999, BORN))
    page.locator("#p-gender").select_option("女")
    page.locator("#p-title_level").select_option("中级")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_text("已添加人员：旅程新人")).to_be_visible()

    # the template, from the import page
    page.goto("/people")
    page.get_by_role("link", name="批量导入").click()
    with page.expect_download() as got:
        page.get_by_role("link", name="下载导入模板").click()
    template = tmp_path / "template.xlsx"
    got.value.save_as(template)
    wb = load_workbook(template)
    ws = wb.active
    headers = [c.value for c in ws[1]]
    assert headers[:2] == ["姓名", "公民身份号码"] and ws.cell(2, 2).number_format == "@"
    for i in range(ROWS):
        values = {"姓名": f"旅程{i}", "公民身份号码": id_number(i, BORN), "性别": "男", "职称级别": "初级"}
        if i == 7:
            values["公民身份号码"] = values["公民身份号码"][:17] + ("1" if values["公民身份号码"][17] != "1" else "2")
        row = 3 + i
        for col, header in enumerate(headers, 1):
            if header in values:
                ws.cell(row, col, values[header])
    filled = tmp_path / "员工.xlsx"
    wb.save(filled)

    # upload; the job holds its second batch while another tab looks at the page
    page.locator("#i-file").set_input_files(str(filled))
    page.get_by_role("button", name="上传并导入").click(no_wait_after=True)
    assert reached.wait(30), "the import did not reach its second batch"
    watcher = admin.context.new_page()
    watcher.goto("/imports?kind=personnel")
    bar = watcher.get_by_role("progressbar")
    expect(bar).to_be_visible()
    assert 0 < int(bar.get_attribute("aria-valuenow")) < 100
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    watcher.screenshot(path=str(ARTIFACTS / "import-journey-progress-zh_CN-1366.png"))
    release.set()

    expect(page.get_by_text("文件已上传，正在后台导入")).to_be_visible()
    expect(page.get_by_text("已完成").first).to_be_visible()
    row = page.locator("tbody tr").first
    expect(row).to_contain_text("员工.xlsx")
    expect(row.locator("td").nth(4)).to_have_text(str(ROWS - 1))
    expect(row.locator("td").nth(5)).to_have_text("1")
    shoot(page, "import-journey")
    watcher.reload()  # done: no progress bar left, and the page stops refreshing itself
    expect(watcher.get_by_role("progressbar")).to_have_count(0)

    with page.expect_download() as got:
        row.get_by_role("link", name="失败记录").click()
    failed = load_workbook(io.BytesIO(Path(got.value.path()).read_bytes())).active
    rows = list(failed.iter_rows(values_only=True))
    assert rows[0][-1] == "失败原因" and len(rows) == 2
    assert rows[1][0] == "旅程7" and "校验位" in rows[1][-1]
    assert failed.cell(2, 2).data_type == "s"

    from app.extensions import db
    from app.people.models import Person

    with admin.live.app.app_context():
        names = set(db.session.scalars(select(Person.name).where(Person.name.startswith("旅程"))))
        db.session.remove()
    assert len(names) == ROWS and "旅程7" not in names and "旅程新人" in names
