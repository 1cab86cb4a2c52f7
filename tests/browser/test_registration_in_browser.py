"""An organisation registers through the three-step page and its bureau approves it, in a real browser."""

from __future__ import annotations

from playwright.sync_api import expect

from app.registration import senders
from tests.registration_helpers import PASSWORD, PNG, id_number, uscc

MOBILE = "13712340001"


def test_an_employer_unit_registers_step_by_step_and_is_approved(person, live) -> None:
    page = person().page
    page.goto("/register/organisation")
    step1, step2, step3 = (page.locator(f"fieldset[data-step='{n}']") for n in (1, 2, 3))
    expect(step2).to_be_hidden()

    page.locator("#f-name").fill("福州云帆软件有限公司")
    page.locator("#f-uscc").fill(uscc("91350102MA8YF0001"))
    page.locator("#f-licence").set_input_files({"name": "licence.png", "mimeType": "image/png", "buffer": PNG})
    page.get_by_role("button", name="下一步").click()
    expect(step1).to_be_hidden()

    page.locator("#f-nature").select_option("企业")
    page.locator("#f-level").select_option("县（区）级")
    page.locator("#f-industry").select_option("工程技术")
    page.locator("#f-region").fill("福建省-福州市-鼓楼区")
    page.locator("#f-parent_id-search").fill("区人力")
    page.locator("#f-parent_id-results [role=option]", has_text="区人力资源和社会保障局").click()
    page.locator("#f-phone").fill("0591-88886666")
    page.locator("#f-principal").fill("陈总")
    page.locator("#f-address").fill("福州市鼓楼区软件园A座")
    page.get_by_role("button", name="下一步").click()
    expect(step3).to_be_visible()

    page.locator("#f-admin_login").fill("yunfan_admin")
    page.locator("#f-admin_password").fill(PASSWORD)
    page.locator("#f-admin_password_confirm").fill(PASSWORD)
    page.locator("#f-admin_name").fill("黄云帆")
    page.locator("#f-admin_id_number").fill(id_number("35010219880808123"))
    page.locator("#f-admin_mobile").fill(MOBILE)
    page.get_by_role("button", name="获取验证码").click()  # no page load: the chosen file stays
    expect(page.locator("#f-verification_code-status")).to_contain_text(f"验证码已发送至 {MOBILE}")
    expect(step3).to_be_visible()
    page.locator("#f-verification_code").fill(senders.last_code(MOBILE) or "")
    page.get_by_role("button", name="提交注册").click()
    expect(page.get_by_text("单位注册申请已提交")).to_be_visible()

    bureau = person("hr_district").page
    bureau.goto("/tasks")
    bureau.locator("tbody tr", has_text="福州云帆软件有限公司").get_by_role("link", name="办理").click()
    expect(bureau.get_by_text("福建省-福州市-鼓楼区")).to_be_visible()
    bureau.get_by_label("同意", exact=True).check()
    bureau.get_by_role("button", name="提交").click()
    expect(bureau.locator(".alert-success")).to_be_visible()

    admin = person("yunfan_admin", PASSWORD)
    admin.page.goto("/org/admins")
    expect(admin.page.get_by_text("福州云帆软件有限公司").first).to_be_visible()
