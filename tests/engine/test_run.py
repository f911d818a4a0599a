"""One run of the engine against in-memory connectors, with the shipped mapping."""

from pathlib import Path

import pytest

from sync.engine.run import RunMode, SyncEngine
from sync.mapping import load_mapping
from sync.model import Kind, System
from sync.errors import TransientError
from sync.state import ReviewQueue, RunOutcome, StateStore
from tests.engine.fakes import Clock, FakeConnector

MAPPING = Path(__file__).resolve().parents[2] / "mappings" / "default.yaml"


@pytest.fixture
def world(tmp_path):
    clock = Clock()
    hubspot = FakeConnector(System.HUBSPOT, clock)
    dynamics = FakeConnector(System.DYNAMICS, clock)
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    engine = SyncEngine(load_mapping(MAPPING), {System.HUBSPOT: hubspot, System.DYNAMICS: dynamics}, store, clock=clock)
    yield engine, hubspot, dynamics, store
    store.close()


def _contact(hubspot: FakeConnector, email: str, first: str = "Pat", last: str = "Lee") -> str:
    return hubspot.add(Kind.CONTACT, {"email": email, "firstname": first, "lastname": last})


def _opportunity(dynamics: FakeConnector, name: str, amount: float, state: int = 0, stage: int = 1, **extra) -> str:
    values = {"name": name, "estimatedvalue": amount, "statecode": state, "statuscode": 1, "salesstage": stage,
              "estimatedclosedate": "2026-05-01", **extra}
    return dynamics.add(Kind.DEAL, values)


def test_first_run_creates_both_ways(world):
    engine, hubspot, dynamics, store = world
    _contact(hubspot, "pat@acme.example")
    _opportunity(dynamics, "Big deal", 5000.0)

    engine.run()

    assert len(dynamics.records[Kind.CONTACT]) == 1
    assert len(hubspot.records[Kind.DEAL]) == 1
    deal = next(iter(hubspot.records[Kind.DEAL].values()))
    assert deal.values["amount"] == "5000"
    assert deal.values["dealstage"] == "qualifiedtobuy"


def test_second_run_writes_nothing(world):
    engine, hubspot, dynamics, _ = world
    _contact(hubspot, "pat@acme.example")
    _opportunity(dynamics, "Big deal", 5000.0)
    engine.run()
    writes = hubspot.write_count() + dynamics.write_count()

    second = engine.run()

    assert hubspot.write_count() + dynamics.write_count() == writes
    assert second.plan.write_count == 0


def test_dry_run_writes_nothing_and_predicts(world):
    engine, hubspot, dynamics, store = world
    _contact(hubspot, "pat@acme.example")
    _opportunity(dynamics, "Big deal", 5000.0)

    dry = engine.run(RunMode.DRY_RUN)
    real = engine.run(RunMode.SYNC)

    assert hubspot.write_count() + dynamics.write_count() == real.plan.write_count
    assert dry.plan.counts() == real.plan.counts()


def test_exact_email_match_links_without_create(world):
    engine, hubspot, dynamics, store = world
    contact_id = _contact(hubspot, "Pat@Acme.example ")
    dynamics.add(Kind.CONTACT, {"emailaddress1": "pat@acme.example", "firstname": "Pat", "lastname": "Lee"})

    engine.run()

    assert len(hubspot.records[Kind.CONTACT]) == 1
    assert len(dynamics.records[Kind.CONTACT]) == 1
    assert store.link_for(System.HUBSPOT, Kind.CONTACT, contact_id) is not None


def test_edit_in_hubspot_flows_to_dynamics(world):
    engine, hubspot, dynamics, _ = world
    contact_id = _contact(hubspot, "pat@acme.example")
    engine.run()

    hubspot.edit(Kind.CONTACT, contact_id, firstname="Patricia")
    engine.run()

    created = next(iter(dynamics.records[Kind.CONTACT].values()))
    assert created.values["firstname"] == "Patricia"


def test_edit_in_dynamics_flows_to_hubspot(world):
    engine, hubspot, dynamics, _ = world
    opportunity = _opportunity(dynamics, "Big deal", 5000.0)
    engine.run()

    dynamics.edit(Kind.DEAL, opportunity, statecode=1, statuscode=3)
    engine.run()

    deal = next(iter(hubspot.records[Kind.DEAL].values()))
    assert deal.values["dealstage"] == "closedwon"


def test_conflict_latest_wins_and_is_recorded(world):
    engine, hubspot, dynamics, _ = world
    contact_id = _contact(hubspot, "pat@acme.example")
    engine.run()
    dynamics_id = next(iter(dynamics.records[Kind.CONTACT]))

    hubspot.edit(Kind.CONTACT, contact_id, lastname="Older")
    dynamics.edit(Kind.CONTACT, dynamics_id, lastname="Newer")
    result = engine.run()

    assert hubspot.records[Kind.CONTACT][contact_id].values["lastname"] == "Newer"
    conflicts = [decision for pair in result.plan.kinds[Kind.CONTACT].pairs for decision in pair.conflicts]
    assert [decision.field for decision in conflicts] == ["last_name"]
    assert "latest_wins" in conflicts[0].reason


def test_shared_email_in_dynamics_links_none(world):
    engine, hubspot, dynamics, store = world
    contact_id = _contact(hubspot, "pat@acme.example")
    dynamics.add(Kind.CONTACT, {"emailaddress1": "pat@acme.example", "lastname": "Lee"})
    dynamics.add(Kind.CONTACT, {"emailaddress1": "PAT@acme.example", "lastname": "Lee-Smith"})

    result = engine.run()

    assert store.link_for(System.HUBSPOT, Kind.CONTACT, contact_id) is None
    assert len(dynamics.records[Kind.CONTACT]) == 2
    assert len(hubspot.records[Kind.CONTACT]) == 1
    assert result.plan.kinds[Kind.CONTACT].counts()["unmatched"] == 3


def test_failed_write_is_retried_next_run(world):
    engine, hubspot, dynamics, store = world
    contact_id = _contact(hubspot, "pat@acme.example", last="REJECT")
    first = engine.run()
    assert first.failed == 1
    assert [row.record_id for row in store.record_errors()] == [contact_id]

    hubspot.edit(Kind.CONTACT, contact_id, lastname="Lee")
    engine.run()

    assert len(dynamics.records[Kind.CONTACT]) == 1
    assert store.record_errors() == []


def test_deal_keeps_its_company(world):
    engine, hubspot, dynamics, store = world
    account = dynamics.add(Kind.COMPANY, {"name": "Acme", "websiteurl": "https://acme.example"})
    _opportunity(dynamics, "Big deal", 5000.0, **{"_customerid_value": account})
    dynamics.records[Kind.DEAL][next(iter(dynamics.records[Kind.DEAL]))].refs = {Kind.COMPANY: [account]}

    engine.run()

    company_id = store.link_for(System.DYNAMICS, Kind.COMPANY, account).hubspot_id
    deal = next(iter(hubspot.records[Kind.DEAL].values()))
    assert deal.refs == {Kind.COMPANY: [company_id]}


def test_stale_etag_is_replanned_in_the_same_run(world):
    engine, hubspot, dynamics, store = world
    contact_id = _contact(hubspot, "pat@acme.example")
    engine.run()
    dynamics_id = next(iter(dynamics.records[Kind.CONTACT]))

    hubspot.edit(Kind.CONTACT, contact_id, firstname="Patricia")
    dynamics.before_write = lambda: dynamics.edit(Kind.CONTACT, dynamics_id, lastname="Lee-Jones")
    result = engine.run()

    assert dynamics.records[Kind.CONTACT][dynamics_id].values["firstname"] == "Patricia"
    assert dynamics.records[Kind.CONTACT][dynamics_id].values["lastname"] == "Lee-Jones"
    assert hubspot.records[Kind.CONTACT][contact_id].values["lastname"] == "Lee-Jones"
    assert result.failed == 0
    assert store.record_errors() == []


def test_retry_policy_backs_off_and_parks():
    from datetime import UTC, datetime, timedelta

    from sync.engine.run import RetryPolicy
    from sync.state import RecordErrorRow

    policy = RetryPolicy(max_attempts=3, base_delay=timedelta(minutes=1))
    seen = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

    def row(attempts):
        return RecordErrorRow(System.HUBSPOT, Kind.CONTACT, "1", "x", None, attempts, seen, seen)

    assert policy.due(row(1), seen + timedelta(seconds=59)) is False
    assert policy.due(row(1), seen + timedelta(minutes=1)) is True
    assert policy.due(row(2), seen + timedelta(minutes=1)) is False
    assert policy.due(row(2), seen + timedelta(minutes=2)) is True
    assert policy.due(row(3), seen + timedelta(days=1)) is False
    assert policy.parked(row(3)) is True


def test_possible_match_waits_for_review_then_links(world):
    from sync.state import ReviewQueue

    engine, hubspot, dynamics, store = world
    contact_id = _contact(hubspot, "pat.lee@acme.example")
    dynamics_id = dynamics.add(Kind.CONTACT, {"emailaddress1": "pat.leee@acme.example"})

    engine.run()
    queue = ReviewQueue(store)
    [item] = queue.pending(Kind.CONTACT)

    assert (item.hubspot_id, item.dynamics_id) == (contact_id, dynamics_id)
    assert len(hubspot.records[Kind.CONTACT]) == 1
    assert len(dynamics.records[Kind.CONTACT]) == 1

    queue.accept(item.id)
    hubspot.edit(Kind.CONTACT, contact_id, firstname="Pat")
    dynamics.edit(Kind.CONTACT, dynamics_id, firstname="Pat")
    engine.run()

    assert store.link_for(System.HUBSPOT, Kind.CONTACT, contact_id).dynamics_id == dynamics_id
    assert len(dynamics.records[Kind.CONTACT]) == 1


def test_rejected_match_syncs_both_records_apart(world):
    from sync.state import ReviewQueue

    engine, hubspot, dynamics, store = world
    contact_id = _contact(hubspot, "pat.lee@acme.example")
    dynamics_id = dynamics.add(Kind.CONTACT, {"emailaddress1": "pat.leee@acme.example"})
    engine.run()
    queue = ReviewQueue(store)
    queue.reject(queue.pending(Kind.CONTACT)[0].id)

    hubspot.edit(Kind.CONTACT, contact_id, firstname="Pat")
    dynamics.edit(Kind.CONTACT, dynamics_id, firstname="Patrick")
    engine.run()

    assert len(hubspot.records[Kind.CONTACT]) == 2
    assert len(dynamics.records[Kind.CONTACT]) == 2
    assert queue.pending(Kind.CONTACT) == []


def test_records_outside_scope_are_not_synced(tmp_path):
    from sync.mapping import parse_mapping

    mapping = parse_mapping(
        "version: 1\n"
        "objects:\n"
        "  contact:\n"
        "    scope:\n"
        "      hubspot: {field: lifecyclestage, op: eq, value: customer}\n"
        "    fields:\n"
        "      email: {hubspot: email, dynamics: emailaddress1, transforms: [trim, lowercase]}\n"
    )
    clock = Clock()
    hubspot, dynamics = FakeConnector(System.HUBSPOT, clock), FakeConnector(System.DYNAMICS, clock)
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    engine = SyncEngine(mapping, {System.HUBSPOT: hubspot, System.DYNAMICS: dynamics}, store, clock=clock)
    hubspot.add(Kind.CONTACT, {"email": "lead@acme.example", "lifecyclestage": "lead"})
    hubspot.add(Kind.CONTACT, {"email": "buyer@acme.example", "lifecyclestage": "customer"})

    result = engine.run()

    assert [r.values["emailaddress1"] for r in dynamics.records[Kind.CONTACT].values()] == ["buyer@acme.example"]
    assert result.plan.kinds[Kind.CONTACT].counts()["out_of_scope"] == 1
    assert store.record_errors() == []
    store.close()


def test_merge_moves_link_to_survivor(world):
    engine, hubspot, dynamics, store = world
    old_id = _contact(hubspot, "pat@acme.example")
    engine.run()
    dynamics_id = store.link_for(System.HUBSPOT, Kind.CONTACT, old_id).dynamics_id

    # HubSpot merges: a new survivor id, the old record is gone.
    values = dict(hubspot.records[Kind.CONTACT].pop(old_id).values, hs_merged_object_ids=old_id, firstname="Patricia")
    survivor = hubspot.add(Kind.CONTACT, values)
    engine.run()

    assert store.link_for(System.HUBSPOT, Kind.CONTACT, survivor).dynamics_id == dynamics_id
    assert len(dynamics.records[Kind.CONTACT]) == 1
    assert dynamics.records[Kind.CONTACT][dynamics_id].values["firstname"] == "Patricia"


def test_gmail_dot_rule_can_be_switched_off(tmp_path):
    from sync.engine.reconcile import MatchingOptions
    from sync.identity import EmailRules

    def run_with(rules):
        clock = Clock()
        hubspot, dynamics = FakeConnector(System.HUBSPOT, clock), FakeConnector(System.DYNAMICS, clock)
        store = StateStore(f"sqlite:///{tmp_path / f'{id(rules)}.sqlite'}")
        engine = SyncEngine(load_mapping(MAPPING), {System.HUBSPOT: hubspot, System.DYNAMICS: dynamics}, store,
                            clock=clock, matching=MatchingOptions(rules=rules))
        _contact(hubspot, "pat.lee@gmail.com")
        dynamics.add(Kind.CONTACT, {"emailaddress1": "patlee@gmail.com", "firstname": "Pat", "lastname": "Lee"})
        result = engine.run()
        store.close()
        return [pair.match_method for pair in result.plan.kinds[Kind.CONTACT].pairs]

    assert run_with(EmailRules())[0].startswith("exact")
    assert not run_with(EmailRules(gmail_dots=False))[0].startswith("exact")


def test_stage_change_is_kept_as_history(world):
    engine, hubspot, dynamics, store = world
    opportunity = _opportunity(dynamics, "Big deal", 5000.0)
    engine.run()
    deal_id = store.link_for(System.DYNAMICS, Kind.DEAL, opportunity).hubspot_id

    dynamics.edit(Kind.DEAL, opportunity, statecode=1, statuscode=3)
    engine.run()

    events = store.stage_events()
    assert [(key, stage) for key, stage, _ in events] == [(deal_id, "closedwon")]
    assert events[0][2] == dynamics.records[Kind.DEAL][opportunity].modified_at


def test_match_is_kept_when_its_first_write_fails(world):
    engine, hubspot, dynamics, store = world
    contact_id = _contact(hubspot, "pat@acme.example", first="Pat")
    dynamics_id = dynamics.add(Kind.CONTACT, {"emailaddress1": "pat@acme.example", "lastname": "Lee"})
    dynamics.reject_ids.add(dynamics_id)

    first = engine.run()

    assert first.failed == 1
    assert store.link_for(System.HUBSPOT, Kind.CONTACT, contact_id).dynamics_id == dynamics_id
    # Only the HubSpot side changes now; the Dynamics record is not read, and must not be created again.
    dynamics.reject_ids.clear()
    hubspot.edit(Kind.CONTACT, contact_id, lastname="Lee-Smith")
    engine.run()

    assert len(dynamics.records[Kind.CONTACT]) == 1
    assert dynamics.records[Kind.CONTACT][dynamics_id].values["firstname"] == "Pat"


def _merge_in_dynamics(dynamics: FakeConnector, subordinate: str, master: str) -> None:
    record = dynamics.records[Kind.CONTACT][subordinate]
    record.merged_into = master
    dynamics.edit(Kind.CONTACT, subordinate, statecode=1, statuscode=2)


def test_dataverse_merge_moves_link_to_master(world):
    engine, hubspot, dynamics, store = world
    hubspot_id = _contact(hubspot, "pat@acme.example")
    engine.run()
    subordinate = store.link_for(System.HUBSPOT, Kind.CONTACT, hubspot_id).dynamics_id
    master = dynamics.add(Kind.CONTACT, {"emailaddress1": "pat.lee@other.example", "firstname": "Patricia",
                                          "lastname": "Lee"})
    _merge_in_dynamics(dynamics, subordinate, master)

    engine.run()
    engine.run()

    link = store.link_for(System.HUBSPOT, Kind.CONTACT, hubspot_id)
    assert link.dynamics_id == master
    assert store.link_for(System.DYNAMICS, Kind.CONTACT, subordinate) is None
    assert list(hubspot.records[Kind.CONTACT]) == [hubspot_id]
    assert hubspot.records[Kind.CONTACT][hubspot_id].values["firstname"] == "Patricia"


def test_dataverse_merge_never_creates_subordinate(world):
    engine, hubspot, dynamics, store = world
    subordinate = dynamics.add(Kind.CONTACT, {"emailaddress1": "sam@acme.example", "lastname": "Sam"})
    master = dynamics.add(Kind.CONTACT, {"emailaddress1": "samuel@acme.example", "lastname": "Sam"})
    _merge_in_dynamics(dynamics, subordinate, master)

    engine.run()

    created = [record.values["email"] for record in hubspot.records[Kind.CONTACT].values()]
    assert created == ["samuel@acme.example"]
    assert store.link_for(System.DYNAMICS, Kind.CONTACT, subordinate) is None


def test_dataverse_merge_of_two_linked_is_reported(world):
    engine, hubspot, dynamics, store = world
    first = _contact(hubspot, "pat@acme.example")
    second = _contact(hubspot, "patricia@acme.example")
    engine.run()
    subordinate = store.link_for(System.HUBSPOT, Kind.CONTACT, first).dynamics_id
    master = store.link_for(System.HUBSPOT, Kind.CONTACT, second).dynamics_id
    _merge_in_dynamics(dynamics, subordinate, master)

    engine.run()

    assert store.link_for(System.HUBSPOT, Kind.CONTACT, second).dynamics_id == master
    [error] = store.record_errors(System.HUBSPOT, Kind.CONTACT)
    assert error.record_id == first
    assert "merge the two in HubSpot" in error.reason
    assert len(hubspot.records[Kind.CONTACT]) == 2


def _conflict_after_other_edit(world) -> tuple[str, str]:
    """HubSpot edits the title, then Dynamics does, then HubSpot edits the phone: HubSpot's
    record is the newest, but Dynamics made the newest title edit."""
    engine, hubspot, dynamics, store = world
    hubspot_id = _contact(hubspot, "pat@acme.example")
    engine.run()
    dynamics_id = store.link_for(System.HUBSPOT, Kind.CONTACT, hubspot_id).dynamics_id
    hubspot.edit(Kind.CONTACT, hubspot_id, jobtitle="Buyer")
    dynamics.edit(Kind.CONTACT, dynamics_id, jobtitle="CFO")
    hubspot.edit(Kind.CONTACT, hubspot_id, phone="+14155550100")
    return hubspot_id, dynamics_id


def test_latest_wins_uses_property_history(world):
    engine, hubspot, dynamics, store = world
    hubspot.keeps_history = True
    hubspot_id, dynamics_id = _conflict_after_other_edit(world)

    result = engine.run()

    assert hubspot.records[Kind.CONTACT][hubspot_id].values["jobtitle"] == "CFO"
    assert dynamics.records[Kind.CONTACT][dynamics_id].values["jobtitle"] == "CFO"
    [decision] = [d for d in result.plan.kinds[Kind.CONTACT].pairs[0].decisions if d.field == "job_title"]
    assert decision.winner is System.DYNAMICS
    assert decision.conflict
    [(kind, ids, properties)] = hubspot.history_reads
    assert (kind, ids) == (Kind.CONTACT, [hubspot_id])
    assert "jobtitle" in properties


def test_latest_wins_without_history_uses_record_time(world):
    engine, hubspot, dynamics, store = world
    hubspot_id, dynamics_id = _conflict_after_other_edit(world)

    engine.run()

    assert dynamics.records[Kind.CONTACT][dynamics_id].values["jobtitle"] == "Buyer"


def test_history_not_read_without_conflict(world):
    engine, hubspot, dynamics, store = world
    hubspot.keeps_history = True
    hubspot_id = _contact(hubspot, "pat@acme.example")
    engine.run()
    hubspot.edit(Kind.CONTACT, hubspot_id, jobtitle="Buyer")

    engine.run()

    assert hubspot.history_reads == []


def test_accepted_review_pair_linked_next_run(world):
    engine, hubspot, dynamics, store = world
    hubspot_id = _contact(hubspot, "pat@acme.example")
    first = dynamics.add(Kind.CONTACT, {"emailaddress1": "pat@acme.example", "lastname": "Lee"})
    dynamics.add(Kind.CONTACT, {"emailaddress1": "pat@acme.example", "lastname": "Lee"})
    engine.run()
    # Later records move both cursors past the group, and its retry back-off has not passed.
    _contact(hubspot, "sam@acme.example")
    dynamics.add(Kind.CONTACT, {"emailaddress1": "kim@acme.example", "lastname": "Kim"})
    engine.run()
    review = ReviewQueue(store)
    [chosen] = [item for item in review.pending(Kind.CONTACT) if item.dynamics_id == first]
    review.accept(chosen.id)

    engine.run()

    assert store.link_for(System.HUBSPOT, Kind.CONTACT, hubspot_id).dynamics_id == first


def test_new_duplicate_never_overwrites_linked(world):
    """A second Dynamics contact with a linked person's email: HubSpot's create is an upsert by
    email, so creating it there would overwrite the linked contact in HubSpot, then in Dynamics."""
    engine, hubspot, dynamics, store = world
    hubspot_id = _contact(hubspot, "millie@example.org", "Millie", "Harris")
    engine.run()
    partner = store.link_for(System.HUBSPOT, Kind.CONTACT, hubspot_id).dynamics_id
    duplicate = dynamics.add(Kind.CONTACT, {"emailaddress1": "millie@example.org", "firstname": "Impostor",
                                            "lastname": "Dup"})

    first = engine.run()
    engine.run()

    assert hubspot.records[Kind.CONTACT][hubspot_id].values["firstname"] == "Millie"
    assert dynamics.records[Kind.CONTACT][partner].values["firstname"] == "Millie"
    assert len(hubspot.records[Kind.CONTACT]) == 1
    assert first.plan.kinds[Kind.CONTACT].creates == []
    [error] = store.record_errors(System.DYNAMICS, Kind.CONTACT)
    assert error.record_id == duplicate
    assert "already has the email" in error.reason


def test_run_failing_at_start_is_recorded(world):
    engine, hubspot, dynamics, store = world

    def unreachable():
        raise TransientError("HubSpot did not answer")

    hubspot.owners = unreachable
    with pytest.raises(TransientError):
        engine.run()

    [run] = store.runs()
    assert run.outcome == RunOutcome.FAILED


def test_possible_match_not_created_alone(world):
    """A HubSpot contact held for review with a Dynamics contact is read again on its own
    (an edit): the planner must still see its candidate, and create neither."""
    engine, hubspot, dynamics, store = world
    hubspot_id = hubspot.add(Kind.CONTACT, {"email": "jon.smith@acme.example", "firstname": "Jon", "lastname": "Smith",
                                            "phone": "+14155550100"})
    dynamics.add(Kind.CONTACT, {"emailaddress1": "jsmith@globex.example", "firstname": "Jon", "lastname": "Smith",
                                "telephone1": "+14155550100"})
    engine.run()
    assert ReviewQueue(store).pending(Kind.CONTACT), "the pair was expected to be held for review"
    # Later records move both cursors past the pair, and its retry back-off has not passed.
    _contact(hubspot, "sam@acme.example")
    dynamics.add(Kind.CONTACT, {"emailaddress1": "kim@acme.example", "lastname": "Kim"})
    engine.run()
    hubspot.edit(Kind.CONTACT, hubspot_id, jobtitle="CFO")

    result = engine.run()

    assert result.plan.kinds[Kind.CONTACT].creates == []
    assert len(dynamics.records[Kind.CONTACT]) == 3


def test_merge_keeps_primary_link_whatever_order(world):
    """The survivor takes the primary's values, so the primary's link moves to it even when
    hs_merged_object_ids lists the absorbed record first."""
    engine, hubspot, dynamics, store = world
    primary = _contact(hubspot, "pat@acme.example", "Pat", "Lee")
    absorbed = _contact(hubspot, "p.lee@other.example", "P.", "Lee")
    engine.run()
    primary_partner = store.link_for(System.HUBSPOT, Kind.CONTACT, primary).dynamics_id
    absorbed_partner = store.link_for(System.HUBSPOT, Kind.CONTACT, absorbed).dynamics_id

    values = dict(hubspot.records[Kind.CONTACT][primary].values, hs_merged_object_ids=f"{absorbed};{primary}")
    del hubspot.records[Kind.CONTACT][primary], hubspot.records[Kind.CONTACT][absorbed]
    survivor = hubspot.add(Kind.CONTACT, values)
    engine.run()

    assert store.link_for(System.HUBSPOT, Kind.CONTACT, survivor).dynamics_id == primary_partner
    assert dynamics.records[Kind.CONTACT][absorbed_partner].values["emailaddress1"] == "p.lee@other.example"
    assert [row.record_id for row in store.record_errors(System.DYNAMICS, Kind.CONTACT)] == [absorbed_partner]


def test_race_on_new_match_keeps_edit(world):
    """A pair matched in this run: HubSpot takes its update, then a user clears the Dynamics
    phone before Dynamics takes its own (412). The re-plan compares against what HubSpot was
    given, so the cleared phone is the newest edit and wins. It must not be decided as on a
    first sync, where an empty value loses."""
    engine, hubspot, dynamics, store = world
    hubspot_id = hubspot.add(Kind.CONTACT, {"email": "ines@acme.example", "lastname": "Lee", "phone": "+14155550557",
                                            "jobtitle": "Buyer"})
    dynamics_id = dynamics.add(Kind.CONTACT, {"emailaddress1": "ines@acme.example", "lastname": "Lee",
                                              "telephone1": "+14155557438"})
    dynamics.before_write = lambda: dynamics.edit(Kind.CONTACT, dynamics_id, telephone1=None)

    engine.run()
    engine.run()

    assert dynamics.records[Kind.CONTACT][dynamics_id].values["telephone1"] is None
    assert hubspot.records[Kind.CONTACT][hubspot_id].values["phone"] in (None, "")
    assert dynamics.records[Kind.CONTACT][dynamics_id].values["jobtitle"] == "Buyer"
