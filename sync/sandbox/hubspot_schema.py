"""What the HubSpot sandbox knows about objects: properties, pipelines and association types.

The property lists are a realistic subset of a HubSpot portal's standard properties, plus
`crmsync_id`, the unique property that crmsync upserts companies and deals by. Enough for
the connector and a mapping validator; a portal's hundreds of other properties are left out.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any

OBJECT_TYPES = ("contacts", "companies", "deals")

# Singular names as HubSpot uses them in v3 association type names and error messages.
SINGULAR = {"contacts": "contact", "companies": "company", "deals": "deal"}

MODIFIED_PROPERTY = {
    "contacts": "lastmodifieddate",
    "companies": "hs_lastmodifieddate",
    "deals": "hs_lastmodifieddate",
}

# Properties whose value identifies one record, so create, batch create and upsert check them.
UNIQUE_PROPERTIES = {"contacts": ("email",), "companies": ("crmsync_id",), "deals": ("crmsync_id",)}


class PropertyType(enum.StrEnum):
    STRING = "string"
    NUMBER = "number"
    DATETIME = "datetime"
    DATE = "date"
    ENUMERATION = "enumeration"
    BOOL = "bool"


@dataclass
class PropertyDefinition:
    name: str
    type: PropertyType = PropertyType.STRING
    field_type: str = "text"
    label: str = ""
    read_only: bool = False
    unique: bool = False
    options: list[str] = field(default_factory=list)

    def to_json(self, object_type: str) -> dict[str, Any]:
        """Render the definition as GET /crm/v3/properties/{objectType} lists it."""
        return {
            "name": self.name,
            "label": self.label or self.name,
            "type": str(self.type),
            "fieldType": self.field_type,
            "groupName": f"{SINGULAR[object_type]}information",
            "description": "",
            "options": [
                {"label": option, "value": option, "displayOrder": index, "hidden": False}
                for index, option in enumerate(self.options)
            ],
            "hasUniqueValue": self.unique,
            "hubspotDefined": self.name != "crmsync_id",
            "formField": not self.read_only,
            "hidden": False,
            "archived": False,
            "calculated": self.read_only and self.name.startswith("hs_is_"),
            "modificationMetadata": {
                "archivable": not self.read_only,
                "readOnlyDefinition": True,
                "readOnlyValue": self.read_only,
            },
        }


LIFECYCLE_STAGES = [
    "subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead",
    "opportunity", "customer", "evangelist", "other",
]


def _common(object_type: str) -> list[PropertyDefinition]:
    modified = MODIFIED_PROPERTY[object_type]
    return [
        PropertyDefinition("hs_object_id", PropertyType.NUMBER, "number", "Record ID", read_only=True),
        PropertyDefinition("createdate", PropertyType.DATETIME, "date", "Create date"),
        PropertyDefinition(modified, PropertyType.DATETIME, "date", "Last modified date", read_only=True),
        PropertyDefinition("hubspot_owner_id", PropertyType.ENUMERATION, "select", "Owner"),
        PropertyDefinition("hs_merged_object_ids", label="Merged record IDs", read_only=True),
    ]


def _text(*names: str) -> list[PropertyDefinition]:
    return [PropertyDefinition(name) for name in names]


def default_properties() -> dict[str, dict[str, PropertyDefinition]]:
    """Build the standard property definitions of each object type."""
    contacts = _common("contacts") + _text(
        "firstname", "lastname", "phone", "mobilephone", "company", "jobtitle", "website",
        "address", "city", "state", "zip", "country", "hs_additional_emails", "crmsync_id",
    ) + [
        PropertyDefinition("email", label="Email", unique=True),
        PropertyDefinition("lifecyclestage", PropertyType.ENUMERATION, "radio", "Lifecycle stage",
                           options=list(LIFECYCLE_STAGES)),
    ]
    companies = _common("companies") + _text(
        "name", "domain", "website", "phone", "industry", "address", "city", "state", "zip",
        "country", "description",
    ) + [
        PropertyDefinition("annualrevenue", PropertyType.NUMBER, "number", "Annual revenue"),
        PropertyDefinition("numberofemployees", PropertyType.NUMBER, "number", "Number of employees"),
        PropertyDefinition("crmsync_id", label="crmsync id", unique=True),
    ]
    deals = _common("deals") + _text("dealname", "description", "deal_currency_code") + [
        PropertyDefinition("amount", PropertyType.NUMBER, "number", "Amount"),
        PropertyDefinition("closedate", PropertyType.DATETIME, "date", "Close date"),
        PropertyDefinition("pipeline", PropertyType.ENUMERATION, "select", "Pipeline"),
        PropertyDefinition("dealstage", PropertyType.ENUMERATION, "radio", "Deal stage"),
        PropertyDefinition("dealtype", PropertyType.ENUMERATION, "radio", "Deal type",
                           options=["newbusiness", "existingbusiness"]),
        PropertyDefinition("hs_is_closed_won", PropertyType.BOOL, "booleancheckbox", "Is closed won", read_only=True),
        PropertyDefinition("hs_is_closed", PropertyType.BOOL, "booleancheckbox", "Is deal closed?", read_only=True),
        PropertyDefinition("crmsync_id", label="crmsync id", unique=True),
    ]
    tables = {"contacts": contacts, "companies": companies, "deals": deals}
    return {object_type: {prop.name: prop for prop in props} for object_type, props in tables.items()}


def property_from_json(data: dict[str, Any]) -> PropertyDefinition:
    return PropertyDefinition(**{**data, "type": PropertyType(data["type"])})


def property_to_json(prop: PropertyDefinition) -> dict[str, Any]:
    return {**asdict(prop), "type": str(prop.type)}


# The default sales pipeline: (stage id, label, probability, closed).
DEFAULT_STAGES = [
    ("appointmentscheduled", "Appointment Scheduled", "0.2", False),
    ("qualifiedtobuy", "Qualified To Buy", "0.4", False),
    ("presentationscheduled", "Presentation Scheduled", "0.6", False),
    ("decisionmakerboughtin", "Decision Maker Bought-In", "0.8", False),
    ("contractsent", "Contract Sent", "0.9", False),
    ("closedwon", "Closed Won", "1.0", True),
    ("closedlost", "Closed Lost", "0.0", True),
]


def default_pipelines() -> list[dict[str, Any]]:
    """Build the default deal pipeline as GET /crm/v3/pipelines/deals returns it."""
    epoch = "1970-01-01T00:00:00.000Z"  # HubSpot reports createdAt 0 for default pipelines
    stages = [
        {
            "id": stage_id, "label": label, "displayOrder": order, "archived": False,
            "metadata": {"probability": probability, "isClosed": "true" if closed else "false"},
            "createdAt": epoch, "updatedAt": epoch, "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT",
        }
        for order, (stage_id, label, probability, closed) in enumerate(DEFAULT_STAGES)
    ]
    return [{
        "id": "default", "label": "Sales Pipeline", "displayOrder": 0, "archived": False,
        "createdAt": epoch, "updatedAt": epoch, "stages": stages,
    }]


@dataclass(frozen=True)
class AssociationType:
    from_type: str
    to_type: str
    type_id: int
    reverse_id: int
    # v3 name, such as deal_to_company; unlabeled types end in _unlabeled.
    name: str
    primary: bool = False


ASSOCIATION_TYPES = [
    AssociationType("deals", "contacts", 3, 4, "deal_to_contact"),
    AssociationType("contacts", "deals", 4, 3, "contact_to_deal"),
    AssociationType("deals", "companies", 341, 342, "deal_to_company_unlabeled"),
    AssociationType("companies", "deals", 342, 341, "company_to_deal_unlabeled"),
    AssociationType("deals", "companies", 5, 6, "deal_to_company", primary=True),
    AssociationType("companies", "deals", 6, 5, "company_to_deal", primary=True),
    AssociationType("contacts", "companies", 279, 280, "contact_to_company_unlabeled"),
    AssociationType("companies", "contacts", 280, 279, "company_to_contact_unlabeled"),
    AssociationType("contacts", "companies", 1, 2, "contact_to_company", primary=True),
    AssociationType("companies", "contacts", 2, 1, "company_to_contact", primary=True),
]
ASSOCIATION_BY_ID = {(item.from_type, item.to_type, item.type_id): item for item in ASSOCIATION_TYPES}


def unlabeled_type(from_type: str, to_type: str) -> AssociationType | None:
    """Return the unlabeled type between two object types, which every association also has."""
    for item in ASSOCIATION_TYPES:
        if item.from_type == from_type and item.to_type == to_type and not item.primary:
            return item
    return None


def format_time(moment: datetime) -> str:
    """Format a time the way HubSpot writes it: UTC with milliseconds and a Z."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_time(value: str) -> datetime:
    """Parse epoch milliseconds, an ISO-8601 datetime or a date into an aware UTC datetime.

    Raises ValueError when the text is none of these.
    """
    text = value.strip()
    if text.lstrip("-").isdigit():
        return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
    if len(text) == 10:
        return datetime.combine(date.fromisoformat(text), datetime.min.time(), tzinfo=UTC)
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
