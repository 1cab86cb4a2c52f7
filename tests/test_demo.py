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


def test_seed_demo_adds_last_years_history_through_the_chain_once(app):
    from datetime import date

    from app.archive.models import CreditRecord
    from app.archive.services import year_summary
    from app.workflow.models import ApprovalEvent, ProcessInstance

    year = date.today().year - 1
    runner = app.test_cli_runner()
    assert "demo history: 4 credit-hour declarations" in runner.invoke(args=["seed-demo"]).output
    credit = ProcessInstance.process_key == "credit_hour_approval"  # the demo's training plans run too
    instances = db.session.scalar(select(func.count()).select_from(ProcessInstance).where(credit))
    assert instances == 4
    assert db.session.scalar(select(func.count()).select_from(ApprovalEvent).join(
        ProcessInstance, ProcessInstance.id == ApprovalEvent.instance_id).where(credit)) == 4 * 4  # submit + 3 reviews
    people = {p.name: p for p in db.session.scalars(select(Person))}
    chen = year_summary(people["陈诗慧"], year)
    assert chen.verified and chen.hours["total"] == 90 and chen.hours["professional"] == 60
    liu = year_summary(people["刘文斌"], year)
    assert not liu.verified and liu.missing
    assert not year_summary(people["王立平"], year).verified

    runner.invoke(args=["seed-demo"])  # again: nothing more
    assert db.session.scalar(select(func.count()).select_from(ProcessInstance).where(credit)) == instances
    assert db.session.scalar(select(func.count()).select_from(CreditRecord).where(
        CreditRecord.source == "declaration")) == 4
