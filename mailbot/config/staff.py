"""The staff directory: who works for the organisation, in which roles, and who takes the next new case.

Built once from the [staff] table of the configuration; pure, no I/O. Whether a mail really comes from one
of these people is trust.py's question, not this module's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mailbot.config.reader import TomlReader
from mailbot.vocabulary import FEEDBACK_KINDS

ROLES = ("coordinator", "investigator", "lead", "safeguarding_lead", "chief_executive", "appeal_panel")
ASSIGNMENTS = ("in_turn", "by_service", "by_category")
CATEGORIES = tuple(sorted(str(kind) for kind in FEEDBACK_KINDS))

_DOMAIN = r"(?:[^\s@<>(),;:\"\[\]\\.]+\.)+[^\s@<>(),;:\"\[\]\\.]+"
_DOMAIN_SHAPE = re.compile(rf"^{_DOMAIN}$")
_ADDRESS_SHAPE = re.compile(rf"^[^\s@<>(),;:\"\[\]\\]+@{_DOMAIN}$")
# An authserv-id is an RFC 2045 token: no white space, no ";" (it ends the field's first part), no quotes.
_AUTHSERV_ID_SHAPE = re.compile(r"^[^\s;\"()]+$")


@dataclass(frozen=True)
class Person:
    name: str
    addresses: tuple[str, ...]  # lower-cased; the first is where mailbot writes to them
    roles: tuple[str, ...]
    services: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()

    @property
    def primary(self) -> str:
        return self.addresses[0]

    @property
    def first_name(self) -> str:
        return self.name.split()[0]

    def has_role(self, role: str) -> bool:
        return role in self.roles

    def covers_service(self, service: str) -> bool:
        wanted = _fold(service)
        return any(_fold(own) == wanted for own in self.services)


@dataclass(frozen=True)
class StaffDirectory:
    people: tuple[Person, ...]
    own_domains: frozenset[str]
    assignment: str
    trusted_authserv_ids: frozenset[str]

    def person_for(self, address: str) -> Person | None:
        wanted = _normalise_address(address)
        return next((p for p in self.people if wanted in p.addresses), None)

    def is_staff_address(self, address: str) -> bool:
        return self.person_for(address) is not None

    def in_own_domain(self, address: str) -> bool:
        """The address is on one of the organisation's domains (or a subdomain), listed person or not."""
        domain = _normalise_address(address).rpartition("@")[2]
        return any(domain == own or domain.endswith("." + own) for own in self.own_domains)

    def with_role(self, role: str) -> tuple[Person, ...]:
        return tuple(p for p in self.people if p.has_role(role))

    def matches(self, name: str) -> tuple[Person, ...]:
        """Everyone `name` could mean in a mail command: the full name or an address picks one person;
        a first name picks everyone with that first name (more than one is for the error to list)."""
        wanted = _fold(name.strip().strip("<>"))
        if "@" in wanted:
            person = self.person_for(wanted)
            return (person,) if person else ()
        exact = tuple(p for p in self.people if _fold(p.name) == wanted)
        return exact or tuple(p for p in self.people if _fold(p.first_name) == wanted)

    def by_name(self, name: str) -> Person | None:
        found = self.matches(name)
        return found[0] if len(found) == 1 else None

    def choose_coordinator(self, kind: str, service: str | None, taken_turns: int) -> Person | None:
        """Who takes a new case. Deterministic, so the caller's stored counter fully decides "in turn"."""
        coordinators = self.with_role("coordinator")
        if not coordinators:
            return None
        if self.assignment == "by_service" and service:
            chosen = next((p for p in coordinators if p.covers_service(service)), None)
        elif self.assignment == "by_category":
            chosen = next((p for p in coordinators if kind in p.categories), None)
        else:
            chosen = None
        return chosen or coordinators[taken_turns % len(coordinators)]


def load_staff(table: Mapping[str, Any], path: Path) -> StaffDirectory:
    """Read and check the [staff] table; every mistake is a ConfigError naming the `staff.…` key."""
    reader = TomlReader(path, table, "staff")
    domains = _domains(reader)
    assignment = reader.choice("assignment", ASSIGNMENTS, "in_turn")
    authserv_ids = _authserv_ids(reader)
    people = _people(reader, path)
    reader.finish()
    _check_assignment(reader, assignment, people)
    return StaffDirectory(people, domains, assignment, authserv_ids)


def _domains(reader: TomlReader) -> frozenset[str]:
    what = 'a list of the organisation\'s mail domains, e.g. ["riverside.example"]'
    domains = _strings(reader, "domains", ..., what)
    if not domains:
        raise reader.error("domains", f"expected {what}, got an empty list")
    for domain in domains:
        if not _DOMAIN_SHAPE.match(domain):
            raise reader.error("domains", f"{domain!r} is not a domain name (e.g. riverside.example)")
    return frozenset(d.lower().rstrip(".") for d in domains)


def _authserv_ids(reader: TomlReader) -> frozenset[str]:
    what = (
        "a list of the names your receiving mail server writes first in Authentication-Results, "
        'e.g. ["mx.riverside.example"], ["mx.google.com"], or ["microsoft365"] for Exchange Online'
    )
    ids = _strings(reader, "trusted_authserv_ids", ..., what)
    if not ids:
        raise reader.error("trusted_authserv_ids", f"expected {what}, got an empty list")
    for value in ids:
        if not _AUTHSERV_ID_SHAPE.match(value):
            raise reader.error("trusted_authserv_ids", f"{value!r} is not an authserv-id; expected {what}")
    return frozenset(v.lower() for v in ids)


def _people(reader: TomlReader, path: Path) -> tuple[Person, ...]:
    tables = reader.get("person", list, ..., "one or more [[staff.person]] tables")
    if not tables:
        raise reader.error("person", "at least one [[staff.person]] is required")
    people: list[Person] = []
    for index, table in enumerate(tables):
        key = f"person[{index}]"
        if not isinstance(table, dict):
            raise reader.error(key, f"expected a [[staff.person]] table, got {table!r}")
        person = _person(TomlReader(path, table, reader.key(key)))
        _check_unique(reader, key, person, people)
        people.append(person)
    return tuple(people)


def _person(reader: TomlReader) -> Person:
    name = " ".join(reader.text("name").split())
    addresses = _addresses(reader, name)
    roles = _choices(reader, "roles", ROLES, "role", name)
    services = tuple(_strings(reader, "services", [], 'a list of service names, e.g. ["home care"]'))
    categories = _choices(reader, "categories", CATEGORIES, "category", name)
    reader.finish()
    return Person(name, addresses, roles, services, categories)


def _addresses(reader: TomlReader, name: str) -> tuple[str, ...]:
    what = 'a list of email addresses, e.g. ["priya.shah@riverside.example"]'
    found: list[str] = []
    for value in _strings(reader, "addresses", ..., what):
        address = value.lower()
        if not _ADDRESS_SHAPE.match(address):
            raise reader.error("addresses", f"{value!r} is not an email address; expected {what}")
        if address in found:
            raise reader.error("addresses", f"{address} is listed twice for {name}")
        found.append(address)
    if not found:
        raise reader.error("addresses", f"{name} needs at least one email address; expected {what}")
    return tuple(found)


def _choices(
    reader: TomlReader, key: str, accepted: tuple[str, ...], noun: str, name: str
) -> tuple[str, ...]:
    listing = ", ".join(accepted)
    values = _strings(reader, key, [], f"a list of {noun} names (accepted: {listing})")
    for value in values:
        if value not in accepted:
            raise reader.error(key, f"unknown {noun} {value!r} for {name} (accepted: {listing})")
    return tuple(dict.fromkeys(values))  # a repeated entry is harmless; keep the first


def _strings(reader: TomlReader, key: str, default: Any, what: str) -> list[str]:
    values = reader.get(key, list, default, what)
    if not all(isinstance(v, str) and v.strip() for v in values):
        raise reader.error(key, f"expected {what}, got {values!r}")
    return [v.strip() for v in values]


def _check_unique(reader: TomlReader, key: str, person: Person, earlier: list[Person]) -> None:
    for other_index, other in enumerate(earlier):
        if _fold(other.name) == _fold(person.name):
            raise reader.error(
                f"{key}.name",
                f"{person.name!r} is also the name of staff.person[{other_index}]; names must differ so "
                "that a mail command such as '#assign' names one person",
            )
        shared = next((a for a in person.addresses if a in other.addresses), None)
        if shared:
            raise reader.error(f"{key}.addresses", f"{shared} is already listed for {other.name}")


def _check_assignment(reader: TomlReader, assignment: str, people: tuple[Person, ...]) -> None:
    coordinators = [p for p in people if p.has_role("coordinator")]
    if not coordinators:
        raise reader.error(
            "person", "nobody has the role 'coordinator'; new cases are assigned to coordinators"
        )
    needs = {"by_service": "services", "by_category": "categories"}.get(assignment)
    if needs and not any(getattr(p, needs) for p in coordinators):
        raise reader.error(
            "assignment",
            f"{assignment} needs at least one coordinator with {needs} = [...]; "
            'or use assignment = "in_turn"',
        )


def _normalise_address(address: str) -> str:
    return address.strip().strip("<>").strip().lower()


def _fold(text: str) -> str:
    return " ".join(text.split()).casefold()
