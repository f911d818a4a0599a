"""The mapping stage: YAML mapping files, and record values to canonical values and back.

`load_mapping` reads and validates a file and returns a frozen `Mapping`; each of its
`ObjectPair`s converts records of one kind with `to_canonical` and `from_canonical`.
"""

from sync.mapping.convert import Canonical
from sync.mapping.loader import build_mapping, load_mapping, parse_mapping
from sync.mapping.metadata import check_fields
from sync.mapping.schema import FieldRule, Location, Mapping, ObjectPair, ReferenceRule, Unmapped, ValueEntry
from sync.mapping.terms import Direction, FieldType, Policy, UnmappedAction
from sync.mapping.transforms import Transform

__all__ = [
    "Canonical",
    "Direction",
    "FieldRule",
    "FieldType",
    "Location",
    "Mapping",
    "ObjectPair",
    "Policy",
    "ReferenceRule",
    "Transform",
    "Unmapped",
    "UnmappedAction",
    "ValueEntry",
    "build_mapping",
    "check_fields",
    "load_mapping",
    "parse_mapping",
]
