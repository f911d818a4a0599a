"""The mapping stage: YAML mapping files, and record values to canonical values and back.

`load_mapping` reads and validates a file and returns a frozen `Mapping`; each of its
`ObjectPair`s converts records of one kind with `to_canonical` and `from_canonical`.
"""

from sync.mapping.convert import Canonical, WriteMode
from sync.mapping.loader import build_mapping, load_mapping, parse_mapping
from sync.mapping.live import check_live
from sync.mapping.metadata import check_fields
from sync.mapping.plan import diff_plan, render_plan
from sync.mapping.owners import OwnerDirectory, OwnerTable
from sync.mapping.scope import Condition
from sync.mapping.schema import FieldRule, Location, Mapping, ObjectPair, ReferenceRule, Unmapped, ValueEntry
from sync.mapping.terms import DeletePolicy, Direction, FieldType, LeaveScope, Operator, Policy, UnmappedAction
from sync.mapping.transforms import Transform

__all__ = [
    "Canonical",
    "Condition",
    "Direction",
    "FieldRule",
    "FieldType",
    "DeletePolicy",
    "LeaveScope",
    "Location",
    "Mapping",
    "ObjectPair",
    "Operator",
    "OwnerDirectory",
    "OwnerTable",
    "Policy",
    "ReferenceRule",
    "Transform",
    "Unmapped",
    "UnmappedAction",
    "ValueEntry",
    "WriteMode",
    "build_mapping",
    "check_fields",
    "check_live",
    "diff_plan",
    "load_mapping",
    "parse_mapping",
    "render_plan",
]
