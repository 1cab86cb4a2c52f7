"""The workbench and the statistics page in Chromium: ECharts draws every chart (a canvas in each container)
from the JSON endpoints, and the tables are there."""

from __future__ import annotations


def _drawn(page, selector: str = "[data-chart]") -> list[str]:  # noqa: ANN001
    page.wait_for_function(
        "s => [...document.querySelectorAll(s)].every(e => e.dataset.drawn === '1' && e.querySelector('canvas'))",
        arg=selector)
    return page.eval_on_selector_all(selector, "els => els.map(e => e.dataset.chart)")


def test_statistics_and_workbench_draw_their_charts(person):
    bureau = person("hr_city")
    page = bureau.page
    page.goto("/statistics?year=2026")
    # every container has its canvas; the review chart shows when other tests have left reviews behind
    drawn = _drawn(page)
    assert drawn[:5] == ["by_year", "subjects", "forms", "organisations", "titles"]
    assert drawn[5:] in (["training"], ["training", "reviews"])
    assert page.locator("#t-orgs tbody tr").count() >= 1
    page.goto("/")
    assert _drawn(page) == ["by_year", "training"]
    assert page.locator("#wb-people").inner_text().isdigit()

    own = person("chenshihui").page
    own.goto("/")
    assert _drawn(own) == ["own_hours"]
    assert own.locator("#own-hours").is_visible()
