"""Reading policy files from ``rules/policies/``: every key is checked, and a mistake names the file, the key
path and what would be accepted."""

from __future__ import annotations

import re
import tomllib
from datetime import time
from pathlib import Path
from typing import Any

from mailbot.config.reader import TomlReader, Wording, as_written, time_of_day
from mailbot.errors import UserError
from mailbot.policy.model import Policy, Source
from mailbot.policy.sections import (
    follow_up_from,
    kinds_from,
    roles_from,
    routing_from,
    signpost_from,
    stages_from,
    time_limit_from,
)
from mailbot.policy.workdays import NATIONS, WorkingCalendar

_POLICY_NAME = re.compile(r"[a-z0-9][a-z0-9-]*\Z")


class PolicyError(UserError):
    """A mistake in a policy file, naming the file, the key path and what would be accepted."""

    def __init__(self, path: Path | str, key: str, message: str) -> None:
        self.path, self.key, self.message = str(path), key, message
        super().__init__(f"{path}: {key}: {message}" if key else f"{path}: {message}")


# A policy file's mistakes show values as they are written in TOML, and say "missing" for an absent key.
POLICY_WORDING = Wording(
    missing="missing: expected {expected}",
    blank="expected some text, got {shown}",
    text="some text",
    table="a [{key}] table",
    show=as_written,
    option=as_written,
)


def load_policy(path: Path) -> Policy:
    """Read and check one policy file; any mistake raises PolicyError naming the file and the key."""
    path = Path(path)
    return _policy(TomlReader(path, _read_toml(path), error=PolicyError, wording=POLICY_WORDING))


def check_policy_file(path: Path) -> Policy:
    """The same as load_policy: what ``mailbot policy check FILE`` runs."""
    return load_policy(path)


def load_policies(directory: Path) -> dict[str, Policy]:
    """Every ``*.toml`` policy in ``directory``, by name; two files with the same name are an error."""
    directory = Path(directory)
    if not directory.is_dir():
        raise PolicyError(directory, "", "not a directory of policy files")
    found: dict[str, Policy] = {}
    for path in sorted(directory.glob("*.toml")):
        policy = load_policy(path)
        if policy.name in found:
            raise PolicyError(
                path,
                "name",
                f"{as_written(policy.name)} is already the name of the policy in "
                f"{found[policy.name].path}; each policy needs a name of its own",
            )
        found[policy.name] = policy
    return found


def find_policy(name: str, directory: Path) -> Policy:
    policies = load_policies(directory)
    if name not in policies:
        found = ", ".join(sorted(policies))
        raise PolicyError(directory, "", f"no policy named {as_written(name)} (found: {found})")
    return policies[name]


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as err:
        raise PolicyError(path, "", f"cannot read the file: {err.strerror or err}") from err
    except tomllib.TOMLDecodeError as err:
        raise PolicyError(path, "", f"not valid TOML: {err}") from err


def _policy(t: TomlReader) -> Policy:
    t.allow(
        "name",
        "title",
        "source",
        "nation",
        "timezone",
        "cutoff",
        "roles",
        "kinds",
        "stages",
        "after_final_stage",
        "time_limit",
        "follow_up",
        "routing",
    )
    roles = roles_from(t)
    stages = stages_from(t, roles)
    return Policy(
        name=_policy_name(t),
        title=t.text("title"),
        source=_source(t),
        calendar=_calendar(t),
        roles=roles,
        kinds=kinds_from(t, stages, roles),
        stages=stages,
        after_final_stage=tuple(signpost_from(s) for s in t.tables("after_final_stage")),
        time_limit=time_limit_from(t.optional_table("time_limit")),
        follow_up=follow_up_from(t.optional_table("follow_up"), roles),
        routing=routing_from(t.tables("routing", required=False), roles),
        path=t.path,
    )


def _policy_name(t: TomlReader) -> str:
    name = t.text("name")
    if not _POLICY_NAME.match(name):
        raise t.error(
            "name",
            f'expected lower case letters, digits and hyphens (e.g. "wivey-cares"), got {as_written(name)}',
        )
    return name


def _source(t: TomlReader) -> Source:
    source = t.required_table("source")
    source.allow("document", "section", "url")
    return Source(source.text("document"), source.text("section", ""), source.text("url", ""))


def _calendar(t: TomlReader) -> WorkingCalendar:
    nation = t.choice("nation", NATIONS)
    try:
        return WorkingCalendar(nation, t.text("timezone", "Europe/London"), _cutoff(t))
    except ValueError as err:
        raise t.error("timezone", str(err)) from err


def _cutoff(t: TomlReader) -> time | None:
    """A TOML time (17:00:00) or, since TOML 1.0 insists on seconds, the friendlier "17:00"."""
    value = t.value("cutoff", "a time of day", None)
    if value is None:
        return None
    if (parsed := time_of_day(value)) is not None:
        return parsed
    raise t.error("cutoff", f'expected a time of day such as "17:00", got {as_written(value)}')
