"""The staff directory: a good [staff] table loads; each mistake names its `staff.…` key and what is accepted;
lookups forgive case; new cases go to coordinators in turn, by service or by category."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

import pytest

from mailbot.config.settings import ConfigError
from mailbot.config.staff import Person, StaffDirectory, load_staff

PATH = Path("/etc/mailbot/config.toml")
GOOD = """
[staff]
domains = ["riverside.example"]
assignment = "in_turn"
trusted_authserv_ids = ["mx.riverside.example"]

[[staff.person]]
name = "Priya Shah"
addresses = ["priya.shah@riverside.example", "P.Shah@Riverside.example"]
roles = ["coordinator", "investigator"]
services = ["home care"]
categories = ["complaint"]

[[staff.person]]
name = "Tom Okafor"
addresses = ["tom.okafor@riverside.example"]
roles = ["coordinator"]
services = ["supported living"]
categories = ["concern", "compliment"]

[[staff.person]]
name = "Priya Patel"
addresses = ["priya.patel@riverside.example"]
roles = ["investigator", "safeguarding_lead"]

[[staff.person]]
name = "Alan  Reid"
addresses = ["ceo@riverside.example"]
roles = ["chief_executive", "appeal_panel"]
"""


def table() -> dict[str, Any]:
    return copy.deepcopy(tomllib.loads(GOOD)["staff"])


def load(staff: dict[str, Any]) -> StaffDirectory:
    return load_staff(staff, PATH)


def named(person: Person | None) -> str | None:
    return person.name if person else None


@pytest.fixture
def directory() -> StaffDirectory:
    return load(table())


def test_good_table_loads(directory: StaffDirectory) -> None:
    priya = directory.people[0]
    assert priya == Person(
        name="Priya Shah",
        addresses=("priya.shah@riverside.example", "p.shah@riverside.example"),
        roles=("coordinator", "investigator"),
        services=("home care",),
        categories=("complaint",),
    )
    assert priya.primary == "priya.shah@riverside.example"
    assert directory.people[3].name == "Alan Reid"  # white space tidied, as a person would read it
    assert directory.own_domains == frozenset({"riverside.example"})
    assert directory.trusted_authserv_ids == frozenset({"mx.riverside.example"})
    assert directory.assignment == "in_turn"


def test_optional_keys_have_defaults() -> None:
    staff = table()
    del staff["assignment"]
    for person in staff["person"]:
        person.pop("services", None)
        person.pop("categories", None)
    directory = load(staff)
    assert directory.assignment == "in_turn"
    assert directory.people[0].services == () and directory.people[0].categories == ()


def _set(path: str, value: Any) -> Any:
    def change(staff: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = staff
        for part in parents:
            target = target["person"][int(part[7:-1])] if part.startswith("person[") else target[part]
        if value is _DELETE:
            del target[last]
        else:
            target[last] = value

    return change


_DELETE = object()


@pytest.mark.parametrize(
    ("change", "key", "says"),
    [
        (_set("person[2].roles", ["leed"]), "staff.person[2].roles", "unknown role 'leed' for Priya Patel"),
        (_set("person[2].roles", ["leed"]), "staff.person[2].roles", "accepted: coordinator, investigator"),
        (_set("person[1].categories", ["complaints"]), "staff.person[1].categories", "accepted: comment"),
        (_set("person[1].addresses", ["priya.shah@riverside.example"]), "staff.person[1].addresses", "Shah"),
        (
            _set("person[1].addresses", ["PRIYA.SHAH@riverside.example"]),
            "staff.person[1].addresses",
            "already",
        ),
        (_set("person[0].addresses", []), "staff.person[0].addresses", "at least one email address"),
        (_set("person[0].addresses", _DELETE), "staff.person[0].addresses", "is required"),
        (_set("person[0].addresses", ["priya.shah"]), "staff.person[0].addresses", "not an email address"),
        (_set("person[0].addresses", ["priya shah@x.example"]), "staff.person[0].addresses", "not an email"),
        (_set("person[0].addresses", "priya@riverside.example"), "staff.person[0].addresses", "a list of"),
        (_set("person[0].addresses", ["a@x.example", "A@x.example"]), "staff.person[0].addresses", "twice"),
        (_set("person[0].name", _DELETE), "staff.person[0].name", "is required"),
        (_set("person[0].name", "  "), "staff.person[0].name", "must not be empty"),
        (_set("person[2].name", "priya  shah"), "staff.person[2].name", "also the name of staff.person[0]"),
        (_set("person[0].role", ["lead"]), "staff.person[0].role", "unknown key (accepted here: addresses"),
        (_set("person[0].services", [""]), "staff.person[0].services", "a list of service names"),
        (_set("colour", "blue"), "staff.colour", "unknown key (accepted here: assignment, domains"),
        (_set("assignment", "round_robin"), "staff.assignment", "one of in_turn, by_service, by_category"),
        (_set("domains", []), "staff.domains", "the organisation's mail domains"),
        (_set("domains", ["@riverside.example"]), "staff.domains", "not a domain name (e.g. riverside"),
        (_set("domains", _DELETE), "staff.domains", "is required"),
        (_set("trusted_authserv_ids", _DELETE), "staff.trusted_authserv_ids", "microsoft365"),
        (_set("trusted_authserv_ids", []), "staff.trusted_authserv_ids", "mx.google.com"),
        (_set("trusted_authserv_ids", ["mx.riverside.example; spf"]), "staff.trusted_authserv_ids", "not an"),
        (_set("person", []), "staff.person", "at least one [[staff.person]]"),
        (_set("person", ["Priya"]), "staff.person[0]", "expected a [[staff.person]] table"),
    ],
)
def test_each_mistake_names_the_key(change: Any, key: str, says: str) -> None:
    staff = table()
    change(staff)
    with pytest.raises(ConfigError) as caught:
        load(staff)
    assert (caught.value.path, caught.value.key) == (str(PATH), key)
    assert says in caught.value.message
    assert str(PATH) in str(caught.value)


def test_someone_must_coordinate() -> None:
    staff = table()
    for person in staff["person"]:
        person["roles"] = [r for r in person["roles"] if r != "coordinator"]
    with pytest.raises(ConfigError) as caught:
        load(staff)
    assert caught.value.key == "staff.person"
    assert "nobody has the role 'coordinator'" in caught.value.message


@pytest.mark.parametrize(("assignment", "field"), [("by_service", "services"), ("by_category", "categories")])
def test_assignment_needs_what_it_assigns_by(assignment: str, field: str) -> None:
    staff = table()
    staff["assignment"] = assignment
    for person in staff["person"]:
        person.pop(field, None)
    with pytest.raises(ConfigError) as caught:
        load(staff)
    assert caught.value.key == "staff.assignment"
    assert f"{assignment} needs at least one coordinator with {field}" in caught.value.message
    assert "in_turn" in caught.value.message


def test_address_lookups_ignore_case_and_brackets(directory: StaffDirectory) -> None:
    priya = directory.people[0]
    assert directory.person_for("PRIYA.SHAH@RIVERSIDE.EXAMPLE") is priya
    assert directory.person_for(" <p.shah@riverside.example> ") is priya
    assert directory.person_for("jane.doe@example.net") is None
    assert directory.is_staff_address("Tom.Okafor@Riverside.Example")
    assert not directory.is_staff_address("someone.else@riverside.example")
    assert directory.in_own_domain("someone.else@Mail.Riverside.Example")
    assert not directory.in_own_domain("someone@notriverside.example")


def test_roles(directory: StaffDirectory) -> None:
    assert [p.name for p in directory.with_role("coordinator")] == ["Priya Shah", "Tom Okafor"]
    assert [p.name for p in directory.with_role("safeguarding_lead")] == ["Priya Patel"]
    assert directory.with_role("lead") == ()


def test_names_full_first_or_address(directory: StaffDirectory) -> None:
    assert named(directory.by_name("tom okafor")) == "Tom Okafor"
    assert named(directory.by_name("Tom")) == "Tom Okafor"
    assert named(directory.by_name("ALAN")) == "Alan Reid"
    assert named(directory.by_name("alan reid")) == "Alan Reid"
    assert named(directory.by_name("P.Shah@riverside.example")) == "Priya Shah"
    assert named(directory.by_name("Priya Shah")) == "Priya Shah"
    assert directory.by_name("Nobody") is None
    assert directory.matches("Nobody") == ()


def test_ambiguous_first_name_lists_the_candidates(directory: StaffDirectory) -> None:
    assert directory.by_name("priya") is None
    assert [p.name for p in directory.matches("Priya")] == ["Priya Shah", "Priya Patel"]


def test_in_turn_goes_round_the_coordinators_in_config_order(directory: StaffDirectory) -> None:
    chosen = [directory.choose_coordinator("complaint", "home care", turn) for turn in range(5)]
    assert [p.name for p in chosen if p] == ["Priya Shah", "Tom Okafor"] * 2 + ["Priya Shah"]


def _with(assignment: str) -> StaffDirectory:
    staff = table()
    staff["assignment"] = assignment
    return load(staff)


def test_by_service_picks_the_coordinator_for_that_service() -> None:
    directory = _with("by_service")
    assert named(directory.choose_coordinator("complaint", "Supported  Living", 0)) == "Tom Okafor"
    assert named(directory.choose_coordinator("complaint", "home care", 1)) == "Priya Shah"


def test_by_service_falls_back_to_in_turn() -> None:
    directory = _with("by_service")
    assert named(directory.choose_coordinator("complaint", "day centre", 1)) == "Tom Okafor"
    assert named(directory.choose_coordinator("complaint", None, 2)) == "Priya Shah"


def test_by_category_picks_by_kind_and_falls_back_to_in_turn() -> None:
    directory = _with("by_category")
    assert named(directory.choose_coordinator("compliment", None, 0)) == "Tom Okafor"
    assert named(directory.choose_coordinator("complaint", "supported living", 1)) == "Priya Shah"
    assert named(directory.choose_coordinator("comment", None, 3)) == "Tom Okafor"


def test_directory_is_frozen(directory: StaffDirectory) -> None:
    with pytest.raises(AttributeError):
        directory.assignment = "by_service"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        directory.people[0].name = "Someone"  # type: ignore[misc]
