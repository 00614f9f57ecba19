"""The data: SQLModel tables, column types, and the engine/session helpers.

Importing this package registers every table on `SQLModel.metadata` (Alembic and tests rely on it).
"""

from sqlmodel import SQLModel

# Constraint names must be stable across backends so migrations can refer to them.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

from models.dashboard import DashboardLogin, DashboardSession, DisbursementTarget  # noqa: E402
from models.evaluation import (  # noqa: E402
    Campaign,
    CampaignAnswer,
    CampaignRecipient,
    IndicatorJudgement,
    ProjectEvaluation,
)
from models.messaging import (  # noqa: E402
    ChatBinding,
    Conversation,
    LinkCode,
    LinkRateWindow,
    LinkThrottle,
    LinkThrottleTrip,
    OutboxMessage,
    SentMessage,
    WebhookEvent,
)
from models.ops import (  # noqa: E402
    AuditLog,
    Lease,
    OfficeHoliday,
    SchedulerRun,
    ServiceClock,
    WorkerHeartbeat,
)
from models.org import ActingApprover, Office, Person, format_roles  # noqa: E402
from models.plan import (  # noqa: E402
    FiscalYear,
    Indicator,
    Project,
    ProjectOwner,
    ProjectStrategy,
    ReportingPeriod,
    Strategy,
)
from models.reports import (  # noqa: E402
    ApprovalDecision,
    EvidencePhoto,
    IndicatorResult,
    ProgressReport,
    ReportVersion,
)
from models.rich_menus import RichMenu, RichMenuLink  # noqa: E402

metadata = SQLModel.metadata

__all__ = [
    "ActingApprover",
    "ApprovalDecision",
    "AuditLog",
    "Campaign",
    "CampaignAnswer",
    "CampaignRecipient",
    "ChatBinding",
    "Conversation",
    "DashboardLogin",
    "DashboardSession",
    "DisbursementTarget",
    "EvidencePhoto",
    "FiscalYear",
    "Indicator",
    "IndicatorJudgement",
    "IndicatorResult",
    "Lease",
    "LinkCode",
    "LinkRateWindow",
    "LinkThrottle",
    "LinkThrottleTrip",
    "Office",
    "OfficeHoliday",
    "OutboxMessage",
    "Person",
    "ProgressReport",
    "Project",
    "ProjectEvaluation",
    "ProjectOwner",
    "ProjectStrategy",
    "ReportVersion",
    "ReportingPeriod",
    "RichMenu",
    "RichMenuLink",
    "SchedulerRun",
    "SentMessage",
    "ServiceClock",
    "Strategy",
    "WebhookEvent",
    "WorkerHeartbeat",
    "format_roles",
    "metadata",
]
