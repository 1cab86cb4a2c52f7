"""The annual verification table in the browser (issue #17, point 6): dmn-js opens it, a cell that leaves the
sandbox is named and outlined as you type, undo mends it, and the table being edited is tried on inputs."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import shoot
from tests.conftest import IN_CI

PAGE = "/admin/processes/rules/annual_verification"

EDIT_FIRST_OUTPUT = """(text) => {
  const viewer = document.getElementById('rule-editor').modeler.getActiveViewer();
  const cell = viewer.get('elementRegistry').filter((e) => e.businessObject &&
    e.businessObject.$type === 'dmn:LiteralExpression' && e.businessObject.$parent.$type === 'dmn:OutputClause'
    ? false : e.businessObject && e.businessObject.$type === 'dmn:LiteralExpression' &&
      e.businessObject.$parent && e.businessObject.$parent.$type === 'dmn:DecisionRule')[0];
  viewer.get('modeling').editCell(cell.businessObject, text);
  return cell.id;
}"""


def test_a_cell_leaving_the_sandbox_is_named_undone_and_the_table_tried(person, live) -> None:
    if not (Path(live.app.static_folder) / "node_modules/dmn-js/dist/dmn-modeler.production.min.js").is_file():
        if IN_CI:
            pytest.fail("CI=true but dmn-js is not installed")
        pytest.skip("dmn-js is not installed (scripts/install.sh installs it with npm)")
    page = person("hr_province").page
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(PAGE)
    expect(page.locator("#problem-count")).to_have_text("没有问题")
    expect(page.locator("#table-editor")).to_contain_text("命中策略")  # the editor's own texts in Chinese
    cell = page.evaluate(EDIT_FIRST_OUTPUT, "__import__('os')")
    expect(page.locator("#problem-count")).to_contain_text("个问题")
    expect(page.locator("#rule-problems")).to_contain_text(cell)
    expect(page.locator(f'#table-editor td.has-problem[data-element-id="{cell}"]')).to_be_attached()
    page.locator("#undo").click()
    expect(page.locator("#problem-count")).to_have_text("没有问题")

    page.locator("#try-province").fill("广东省")
    page.locator("#try-title").fill("中级")
    page.get_by_role("button", name="用当前编辑的表试算").click()
    expect(page.locator("#try-answer")).to_contain_text("min_total")
    shoot(page, "rule-editor")
