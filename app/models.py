"""Imports every model so Alembic and create_all see the whole schema."""

from app.accounts.models import ApiToken, Membership, Organisation, User  # noqa: F401
from app.archive.models import (  # noqa: F401
    AnnualVerification,
    CreditDeclaration,
    CreditRecord,  # noqa: F401
)
from app.audit.models import AuditEntry  # noqa: F401
from app.certificates.models import Certificate  # noqa: F401
from app.core.ratelimit import RateLimit  # noqa: F401
from app.imports.models import ImportJob, ImportRow  # noqa: F401
from app.orgadmin.models import AdminRole, Department  # noqa: F401
from app.people.models import BindRequest, Person  # noqa: F401
from app.processes_admin.models import ProcessDraft  # noqa: F401
from app.registration.models import OrganisationProfile, VerificationCode  # noqa: F401
from app.statistics import models as _statistics_indexes  # noqa: F401
from app.taskcentre.models import BackgroundJob  # noqa: F401
from app.training.models import (  # noqa: F401
    AnnualReport,
    Teacher,
    TrainingCourse,
    TrainingPlan,
    TrainingPlanCourse,
    TrainingProfile,
    TrainingSite,
    TrainingSubject,
)
from app.transfers.models import PersonnelTransfer  # noqa: F401
from app.workflow.models import ApprovalEvent, Attachment, ProcessInstance, ProcessVersion, WorkflowTask  # noqa: F401
