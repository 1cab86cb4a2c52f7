import pytest

from app.core.validators import id_number_error, mask_id_number, mobile_error, uscc_error


@pytest.mark.parametrize("value", ["110101199003072711", "321101198110166954", "440102198001010013",
                                   "11010519491231002x", "11010519491231002X"])
def test_valid_id_numbers(value):
    assert id_number_error(value) is None


@pytest.mark.parametrize("value,message", [
    ("440902199203222903", "身份证号码校验位不正确"),
    ("11010119900307271", "身份证号码应为18位"),
    ("110101199002302713", "身份证号码中的出生日期无效"),
    ("1101011990030727A1", "身份证号码前17位应为数字，最后一位为数字或X"),
])
def test_invalid_id_numbers_say_which_rule_failed(value, message):
    assert id_number_error(value) == message


def test_uscc_and_mobile():
    assert uscc_error("91410104MA9G8NFR0H") is None
    assert uscc_error("91410104MA9G8NFR0J") == "统一社会信用代码校验位不正确"
    assert mobile_error("13800138000") is None
    assert mobile_error("12800138000") is not None


def test_masking():
    assert mask_id_number("110101199003072711") == "1101**********2711"
