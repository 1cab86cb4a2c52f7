"""`flask db upgrade` + `flask seed-demo` build the demo platform; running the seed twice changes nothing."""

from sqlalchemy import func, select

from app.accounts.models import Membership, Organisation, User
from app.extensions import db
from app.people.models import Person
from app.workflow.lanes import resolve_lanes


def counts():
    return [db.session.scalar(select(func.count()).select_from(m)) for m in (Organisation, User, Membership, Person)]


def test_seed_demo_twice_changes_nothing(app):
    before = counts()
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0 and "0 new rows" in result.output
    assert counts() == before == [7, 10, 10, 3]


def test_demo_chains(app):
    def chain(unit_name):
        unit = db.session.scalar(select(Organisation).where(Organisation.name == unit_name))
        lanes = resolve_lanes(unit)
        return [lanes[k].name if lanes[k] else None for k in ("unit", "supervisory_department", "hr_bureau")]

    assert chain("市第一人民医院") == ["市第一人民医院", "市卫生健康委员会", "市人力资源和社会保障局"]
    assert chain("福州智造科技有限公司") == ["福州智造科技有限公司", None, "区人力资源和社会保障局"]
    district = db.session.scalar(select(Organisation).where(Organisation.name == "区人力资源和社会保障局"))
    assert resolve_lanes(district)["hr_province"].name == "省人力资源和社会保障厅"
