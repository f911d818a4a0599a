"""An in-memory index of the links, loaded once per kind of a run.

Planning looks up a link for every record read and every reference; one query per kind
instead of one per record keeps a run of tens of thousands of records fast.
"""

from __future__ import annotations

from collections.abc import Iterable

from sync.model import Kind, System
from sync.state import Link, StateStore


class LinkIndex:
    def __init__(self, links: Iterable[Link] = ()) -> None:
        self._by_id: dict[str, Link] = {}
        self._by_record: dict[tuple[System, Kind, str], Link] = {}
        for link in links:
            self.add(link)

    @classmethod
    def load(cls, store: StateStore) -> LinkIndex:
        return cls(link for kind in Kind for link in store.links(kind))

    def add(self, link: Link) -> None:
        """Add a link, or replace the link with the same id, which may have moved to other records."""
        replaced = self._by_id.get(link.id)
        if replaced is not None:
            self._by_record.pop((System.HUBSPOT, replaced.kind, replaced.hubspot_id), None)
            self._by_record.pop((System.DYNAMICS, replaced.kind, replaced.dynamics_id), None)
        self._by_id[link.id] = link
        self._by_record[(System.HUBSPOT, link.kind, link.hubspot_id)] = link
        self._by_record[(System.DYNAMICS, link.kind, link.dynamics_id)] = link

    def for_record(self, system: System, kind: Kind, record_id: str) -> Link | None:
        return self._by_record.get((system, kind, record_id))

    def by_id(self, link_id: str) -> Link | None:
        return self._by_id.get(link_id)
