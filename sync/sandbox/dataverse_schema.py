"""Tables, columns and navigation properties of the Dataverse sandbox.

A small, real subset of the Dataverse v9.2 schema: contacts, accounts, opportunities,
opportunity close activities, system users and currencies. Column types follow the metadata `AttributeType` names, and
DateOnly columns are `DateTime` attributes with a date-only format. Lookups are stored and
read as `_<column>_value` and written through navigation properties with `@odata.bind`.
"""

from __future__ import annotations

import re

import enum
from dataclasses import dataclass, field


class AttributeType(enum.StrEnum):
    UNIQUEIDENTIFIER = "Uniqueidentifier"
    STRING = "String"
    MEMO = "Memo"
    INTEGER = "Integer"
    DECIMAL = "Decimal"
    MONEY = "Money"
    BOOLEAN = "Boolean"
    DATETIME = "DateTime"
    PICKLIST = "Picklist"
    STATE = "State"
    STATUS = "Status"
    LOOKUP = "Lookup"
    CUSTOMER = "Customer"
    OWNER = "Owner"


class DateFormat(enum.StrEnum):
    DATE_AND_TIME = "DateAndTime"
    DATE_ONLY = "DateOnly"


LOOKUP_TYPES = frozenset({AttributeType.LOOKUP, AttributeType.CUSTOMER, AttributeType.OWNER})
OPTION_TYPES = frozenset({AttributeType.PICKLIST, AttributeType.STATE, AttributeType.STATUS})


@dataclass(frozen=True)
class Column:
    """One attribute of a table, with what the metadata says about it."""

    name: str
    type: AttributeType
    creatable: bool = True
    updatable: bool = True
    options: dict[int, str] = field(default_factory=dict)
    # Target table logical names, for lookups.
    targets: tuple[str, ...] = ()
    date_format: DateFormat | None = None
    max_length: int | None = None

    @property
    def read_name(self) -> str:
        """The name the Web API reads this column by: `_x_value` for lookups."""
        return f"_{self.name}_value" if self.type in LOOKUP_TYPES else self.name


@dataclass(frozen=True)
class Navigation:
    """A single-valued navigation property that writes a lookup column."""

    name: str
    column: str
    target: str


@dataclass(frozen=True)
class Table:
    logical_name: str
    entity_set: str
    key: str
    primary_name: str
    columns: dict[str, Column]
    navigations: dict[str, Navigation]

    def column_by_read_name(self, name: str) -> Column | None:
        """Find a column by the name a query uses (`_x_value` for lookups)."""
        for column in self.columns.values():
            if column.read_name == name:
                return column
        return None


def _text(name: str, max_length: int = 100, **kwargs: object) -> Column:
    return Column(name, AttributeType.STRING, max_length=max_length, **kwargs)  # type: ignore[arg-type]


def _system_columns(key: str) -> list[Column]:
    return [
        Column(key, AttributeType.UNIQUEIDENTIFIER, creatable=True, updatable=False),
        Column("createdon", AttributeType.DATETIME, creatable=False, updatable=False,
               date_format=DateFormat.DATE_AND_TIME),
        Column("modifiedon", AttributeType.DATETIME, creatable=False, updatable=False,
               date_format=DateFormat.DATE_AND_TIME),
        Column("overriddencreatedon", AttributeType.DATETIME, creatable=True, updatable=False,
               date_format=DateFormat.DATE_AND_TIME),
    ]


def _owned_columns() -> list[Column]:
    return [Column("ownerid", AttributeType.OWNER, targets=("systemuser",))]


def _merge_columns(logical_name: str) -> list[Column]:
    """Return the columns the Merge action sets on a subordinate: `merged`, and `masterid` naming the target."""
    return [
        Column("merged", AttributeType.BOOLEAN, creatable=False, updatable=False),
        Column("masterid", AttributeType.LOOKUP, creatable=False, updatable=False, targets=(logical_name,)),
    ]


ACTIVE_STATE = {0: "Active", 1: "Inactive"}
ACTIVE_STATUS = {1: "Active", 2: "Inactive"}
OPPORTUNITY_STATE = {0: "Open", 1: "Won", 2: "Lost"}
OPPORTUNITY_STATUS = {1: "In Progress", 2: "On Hold", 3: "Won", 4: "Canceled", 5: "Out-Sold"}
# Tables the Merge action takes; Dataverse also merges leads and incidents.
MERGEABLE = frozenset({"contact", "account"})
# Which statuscode values belong to which statecode, first one the default.
STATUS_BY_STATE: dict[str, dict[int, tuple[int, ...]]] = {
    "opportunity": {0: (1, 2), 1: (3,), 2: (4, 5)},
    "contact": {0: (1,), 1: (2,)},
    "account": {0: (1,), 1: (2,)},
}
SALES_STAGES = {0: "Qualify", 1: "Develop", 2: "Propose", 3: "Close"}
INDUSTRIES = {1: "Accounting", 6: "Business Services", 7: "Consulting", 12: "Financial", 19: "Manufacturing",
              25: "Retail", 28: "Software", 33: "Other"}


def _table(logical: str, entity_set: str, key: str, primary_name: str, columns: list[Column],
           navigations: list[Navigation]) -> Table:
    return Table(logical, entity_set, key, primary_name, {column.name: column for column in columns},
                 {navigation.name: navigation for navigation in navigations})


def _contact() -> Table:
    columns = [
        *_system_columns("contactid"),
        _text("firstname", 50), _text("lastname", 50),
        Column("fullname", AttributeType.STRING, creatable=False, updatable=False, max_length=160),
        _text("emailaddress1"), _text("emailaddress2"), _text("telephone1", 50), _text("mobilephone", 50),
        _text("jobtitle"), _text("address1_line1", 250), _text("address1_city", 80),
        _text("address1_postalcode", 20), _text("address1_country", 80),
        Column("description", AttributeType.MEMO, max_length=2000),
        Column("parentcustomerid", AttributeType.CUSTOMER, targets=("account", "contact")),
        *_owned_columns(),
        *_merge_columns("contact"),
        Column("statecode", AttributeType.STATE, options=ACTIVE_STATE),
        Column("statuscode", AttributeType.STATUS, options=ACTIVE_STATUS),
    ]
    navigations = [
        Navigation("parentcustomerid_account", "parentcustomerid", "account"),
        Navigation("parentcustomerid_contact", "parentcustomerid", "contact"),
        Navigation("ownerid", "ownerid", "systemuser"),
    ]
    return _table("contact", "contacts", "contactid", "fullname", columns, navigations)


def _account() -> Table:
    columns = [
        *_system_columns("accountid"),
        _text("name", 160), _text("telephone1", 50), _text("emailaddress1"), _text("accountnumber", 20),
        _text("websiteurl", 200), _text("address1_city", 80), _text("address1_country", 80),
        Column("industrycode", AttributeType.PICKLIST, options=INDUSTRIES),
        Column("numberofemployees", AttributeType.INTEGER),
        Column("revenue", AttributeType.MONEY),
        Column("description", AttributeType.MEMO, max_length=2000),
        Column("primarycontactid", AttributeType.LOOKUP, targets=("contact",)),
        Column("transactioncurrencyid", AttributeType.LOOKUP, targets=("transactioncurrency",)),
        *_owned_columns(),
        *_merge_columns("account"),
        Column("statecode", AttributeType.STATE, options=ACTIVE_STATE),
        Column("statuscode", AttributeType.STATUS, options=ACTIVE_STATUS),
    ]
    navigations = [
        Navigation("primarycontactid", "primarycontactid", "contact"),
        Navigation("transactioncurrencyid", "transactioncurrencyid", "transactioncurrency"),
        Navigation("ownerid", "ownerid", "systemuser"),
    ]
    return _table("account", "accounts", "accountid", "name", columns, navigations)


def _opportunity() -> Table:
    date_only = {"date_format": DateFormat.DATE_ONLY}
    columns = [
        *_system_columns("opportunityid"),
        _text("name", 300), _text("stepname", 200),
        Column("estimatedvalue", AttributeType.MONEY), Column("actualvalue", AttributeType.MONEY),
        Column("estimatedclosedate", AttributeType.DATETIME, **date_only),  # type: ignore[arg-type]
        Column("actualclosedate", AttributeType.DATETIME, **date_only),  # type: ignore[arg-type]
        Column("closeprobability", AttributeType.INTEGER),
        Column("salesstage", AttributeType.PICKLIST, options=SALES_STAGES),
        Column("description", AttributeType.MEMO, max_length=2000),
        Column("customerid", AttributeType.CUSTOMER, targets=("account", "contact")),
        Column("parentaccountid", AttributeType.LOOKUP, targets=("account",)),
        Column("parentcontactid", AttributeType.LOOKUP, targets=("contact",)),
        Column("transactioncurrencyid", AttributeType.LOOKUP, targets=("transactioncurrency",)),
        *_owned_columns(),
        Column("statecode", AttributeType.STATE, creatable=False, options=OPPORTUNITY_STATE),
        Column("statuscode", AttributeType.STATUS, options=OPPORTUNITY_STATUS),
    ]
    navigations = [
        Navigation("customerid_account", "customerid", "account"),
        Navigation("customerid_contact", "customerid", "contact"),
        Navigation("parentaccountid", "parentaccountid", "account"),
        Navigation("parentcontactid", "parentcontactid", "contact"),
        Navigation("transactioncurrencyid", "transactioncurrencyid", "transactioncurrency"),
        Navigation("ownerid", "ownerid", "systemuser"),
    ]
    return _table("opportunity", "opportunities", "opportunityid", "name", columns, navigations)


def _opportunityclose() -> Table:
    # The activity that WinOpportunity and LoseOpportunity create; a minimal column set.
    columns = [
        *_system_columns("activityid"),
        _text("subject", 200),
        Column("opportunityid", AttributeType.LOOKUP, targets=("opportunity",)),
        Column("actualrevenue", AttributeType.MONEY),
        Column("actualend", AttributeType.DATETIME, date_format=DateFormat.DATE_ONLY),
        Column("description", AttributeType.MEMO, max_length=2000),
        Column("transactioncurrencyid", AttributeType.LOOKUP, targets=("transactioncurrency",)),
    ]
    navigations = [
        Navigation("opportunityid", "opportunityid", "opportunity"),
        Navigation("transactioncurrencyid", "transactioncurrencyid", "transactioncurrency"),
    ]
    return _table("opportunityclose", "opportunitycloses", "activityid", "subject", columns, navigations)


def _systemuser() -> Table:
    columns = [
        *_system_columns("systemuserid"),
        _text("firstname", 64), _text("lastname", 64),
        Column("fullname", AttributeType.STRING, max_length=200),
        _text("internalemailaddress"), _text("azureactivedirectoryobjectid", 36),
        Column("isdisabled", AttributeType.BOOLEAN),
    ]
    return _table("systemuser", "systemusers", "systemuserid", "fullname", columns, [])


def _transactioncurrency() -> Table:
    columns = [
        *_system_columns("transactioncurrencyid"),
        _text("currencyname"), _text("isocurrencycode", 5), _text("currencysymbol", 10),
    ]
    return _table("transactioncurrency", "transactioncurrencies", "transactioncurrencyid", "currencyname", columns, [])


TABLES: dict[str, Table] = {
    table.entity_set: table
    for table in (_contact(), _account(), _opportunity(), _opportunityclose(), _systemuser(), _transactioncurrency())
}
TABLES_BY_LOGICAL_NAME: dict[str, Table] = {table.logical_name: table for table in TABLES.values()}


# Types a custom column may be created with, by the names the seed spec uses.
CUSTOM_COLUMN_TYPES = {
    "string": AttributeType.STRING,
    "number": AttributeType.DECIMAL,
    "integer": AttributeType.INTEGER,
    "bool": AttributeType.BOOLEAN,
    "date": AttributeType.DATETIME,
    "datetime": AttributeType.DATETIME,
}
# Custom columns carry a publisher prefix, such as `new_region` or `cr1a2_segment`.
CUSTOM_COLUMN_NAME = re.compile(r"^[a-z][a-z0-9]*_[a-z0-9_]+$")


def define_custom_column(entity_set: str, name: str, type_name: str = "string") -> Column:
    """Add a custom column to a table (idempotent) and return it.

    NOTE: the schema is shared by every sandbox in the process; a custom column that one
    sandbox defines is visible to the others. Each sandbox remembers its own custom columns
    and defines them again when its data is loaded.
    """
    table = TABLES[entity_set]
    existing = table.columns.get(name)
    if existing is not None:
        return existing
    date_format = None
    if type_name == "date":
        date_format = DateFormat.DATE_ONLY
    elif type_name == "datetime":
        date_format = DateFormat.DATE_AND_TIME
    column = Column(name, CUSTOM_COLUMN_TYPES[type_name], date_format=date_format)
    table.columns[name] = column
    return column
