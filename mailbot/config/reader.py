"""One reader for typed values in TOML tables: the configuration file, policy files and rules/classify.toml.

Every error names the file and the full key path; a misspelt key is an error, never silently ignored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import Any

from mailbot.errors import UserError

# The default that means "the file must give this key" (``...`` so callers can write it inline).
REQUIRED: Any = ...
_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*\Z")

# Builds the error a caller raises, from the file, the full key path and the message.
ErrorFactory = Callable[[Path, str, str], Exception]


class ConfigError(UserError):
    """A mistake in the configuration file, naming the file and the key."""

    def __init__(self, path: Path | str, key: str, message: str) -> None:
        self.path, self.key, self.message = str(path), key, message
        super().__init__(f"{path}: {key}: {message}")


def as_written(value: object) -> str:
    """A value as it would be written in a TOML file, for error messages."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return str(value)


@dataclass(frozen=True)
class Wording:
    """How one kind of file words its mistakes; each keeps the words its users already know.

    The messages are format strings: ``{name}`` is the key as written in its table, ``{key}`` its full path,
    ``{expected}`` what would be accepted, ``{shown}`` the value found, ``{accepted}`` the keys accepted.
    """

    missing: str = "is required ({expected})"
    wrong: str = "expected {expected}, got {shown}"
    unknown: str = "unknown key (accepted here: {accepted})"
    blank: str = "must not be empty"
    text: str = "a string"
    table: str = "a table"
    show: Callable[[object], str] = repr
    option: Callable[[str], str] = str


# The configuration file's wording, and the default: the reader was written for it first.
CONFIG_WORDING = Wording()


class TomlReader:
    """Reads typed values out of one TOML table, remembering the key path for error messages.

    ``error`` builds the exception raised for a mistake (ConfigError unless the caller says otherwise), and
    ``wording`` how its message reads.
    """

    def __init__(
        self,
        path: Path,
        table: Mapping[str, Any],
        prefix: str = "",
        *,
        error: ErrorFactory = ConfigError,
        wording: Wording = CONFIG_WORDING,
    ) -> None:
        self.path, self.table, self.prefix = path, table, prefix
        self.make_error, self.wording = error, wording
        self.used: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def error(self, name: str, message: str) -> Exception:
        return self.make_error(self.path, self.key(name), message)

    def wrong(self, name: str, expected: str, value: object) -> Exception:
        """The error for a value that is not what the key accepts."""
        return self._worded(self.wording.wrong, name, expected=expected, shown=self.wording.show(value))

    def unknown(self, name: str, accepted: Iterable[str]) -> Exception:
        return self._worded(self.wording.unknown, name, accepted=", ".join(accepted))

    def _worded(self, message: str, name: str, **details: str) -> Exception:
        return self.error(name, message.format(name=name, key=self.key(name), **details))

    def child(self, name: str, table: Mapping[str, Any]) -> TomlReader:
        """A reader for a table inside this one, raising and wording errors the same way."""
        return TomlReader(self.path, table, self.key(name), error=self.make_error, wording=self.wording)

    # --- keys ---------------------------------------------------------------------------------------

    def has(self, name: str) -> bool:
        return name in self.table

    def allow(self, *accepted: str) -> None:
        """Check every key before reading any; the first unknown one in the file is the one named."""
        for name in self.table:
            if name not in accepted:
                raise self.unknown(name, accepted)

    def finish(self) -> None:
        """After reading: any key never asked for is unknown; the keys asked for are the ones accepted."""
        unknown = sorted(set(self.table) - self.used)
        if unknown:
            raise self.unknown(unknown[0], sorted(self.used))

    # --- values ---------------------------------------------------------------------------------------

    def value(self, name: str, expected: str, default: Any = REQUIRED) -> Any:
        """The value as found, unchecked, or ``default`` when the key is absent."""
        self.used.add(name)
        if name in self.table:
            return self.table[name]
        if default is REQUIRED:
            raise self._worded(self.wording.missing, name, expected=expected)
        return default

    def get(self, name: str, kind: type, default: Any = REQUIRED, what: str = "") -> Any:
        """A value of one Python type; ``what`` says in words what would be accepted."""
        expected = what or kind.__name__
        value = self.value(name, expected, default)
        if name in self.table and not _is_a(value, kind):
            raise self.wrong(name, expected, value)
        return value

    def strings(self, name: str, default: Any = REQUIRED, what: str = "") -> Any:
        """A list whose items are all strings."""
        values = self.get(name, list, default, what)
        if name in self.table and not all(isinstance(item, str) for item in values):
            raise self.wrong(name, what or "list", values)
        return values

    def text(self, name: str, default: Any = REQUIRED) -> Any:
        """A string with something in it; a default (even None) is returned as it is."""
        value = self.value(name, self.wording.text, default)
        if name not in self.table:
            return value
        if not isinstance(value, str):
            raise self.wrong(name, self.wording.text, value)
        if not value.strip():
            raise self._worded(self.wording.blank, name, shown=self.wording.show(value))
        return value

    def positive(self, name: str, default: Any = REQUIRED) -> int:
        expected = "a positive whole number"
        value = self.value(name, expected, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise self.wrong(name, expected, value)
        return value

    def port(self, name: str, default: Any = REQUIRED) -> int:
        """A TCP port: 1 to 65535."""
        expected = "a port number from 1 to 65535"
        value = self.value(name, expected, default)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
            raise self.wrong(name, expected, value)
        return value

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.value(name, "true or false", default)
        if not isinstance(value, bool):
            raise self.wrong(name, "true or false", value)
        return value

    def choice(self, name: str, options: Iterable[str], default: Any = REQUIRED) -> str:
        options = tuple(options)
        expected = self.one_of(options)
        value = self.value(name, expected, default)
        if value not in options:
            raise self.wrong(name, expected, value)
        return value

    def choices(self, name: str, allowed: Iterable[str]) -> tuple[str, ...]:
        """A list (empty when absent) whose every item is one of ``allowed``."""
        allowed = tuple(allowed)
        items = self.value(name, "a list", [])
        if not isinstance(items, list):
            raise self.wrong(name, f"a list such as [{self.wording.option(allowed[0])}]", items)
        for index, item in enumerate(items):
            if item not in allowed:
                raise self.wrong(f"{name}[{index}]", self.one_of(allowed), item)
        return tuple(items)

    def identifier(self, name: str) -> str:
        expected = "a name in lower case letters, digits and _"
        value = self.value(name, expected)
        if not (isinstance(value, str) and is_identifier(value)):
            raise self.wrong(name, expected, value)
        return value

    def one_of(self, options: Iterable[str]) -> str:
        return "one of " + ", ".join(self.wording.option(option) for option in options)

    # --- tables -------------------------------------------------------------------------------------

    def optional_table(self, name: str) -> TomlReader | None:
        return self._table(name, None)

    def required_table(self, name: str) -> TomlReader:
        table = self._table(name, REQUIRED)
        assert table is not None  # _table raises when a required table is missing
        return table

    def sub(self, name: str, required: bool = False) -> TomlReader:
        """A table inside this one; an absent optional table reads as an empty one."""
        table = self._table(name, REQUIRED if required else None)
        return table or self.child(name, {})

    def _table(self, name: str, default: Any) -> TomlReader | None:
        expected = self.wording.table.format(key=self.key(name))
        value = self.value(name, expected, default)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise self.wrong(name, expected, value)
        return self.child(name, value)

    def tables(self, name: str, required: bool = True) -> list[TomlReader]:
        """An array of tables, ``[[name]]`` in the file; ``required`` means at least one."""
        many, least = f"[[{self.key(name)}]] tables", f"at least one [[{self.key(name)}]] table"
        items = self.value(name, least, REQUIRED if required else [])
        if not isinstance(items, list) or not all(isinstance(item, Mapping) for item in items):
            raise self.wrong(name, many, items)
        if required and not items:
            raise self._worded(self.wording.wrong, name, expected=least, shown="none")
        return [self.child(f"{name}[{index}]", item) for index, item in enumerate(items)]

    def named_tables(self, name: str) -> list[tuple[str, TomlReader]]:
        """A table of tables, ``[name.first]``, ``[name.second]`` in the file; at least one."""
        outer = self.required_table(name)
        if not outer.table:
            least = f"at least one [{self.key(name)}.<name>] table"
            raise self._worded(self.wording.wrong, name, expected=least, shown="none")
        return [(key, outer.required_table(key)) for key in outer.table]


def is_identifier(text: str) -> bool:
    """Lower case letters, digits and _, starting with a letter: a name a policy gives a role or a stage."""
    return bool(_IDENTIFIER.match(text))


def _is_a(value: object, kind: type) -> bool:
    """isinstance, except that true and false are not numbers and a whole number will do for a float."""
    if kind in (int, float) and isinstance(value, bool):
        return False
    if kind is float:
        return isinstance(value, int | float)
    return isinstance(value, kind)


def time_of_day(value: object) -> time | None:
    """A TOML local time (08:00:00) or, since TOML 1.0 insists on seconds, the friendlier "08:00"; None for
    anything else, so each caller can say what it accepts in its own words."""
    if isinstance(value, time) and value.tzinfo is None:
        return value
    if isinstance(value, str) and re.fullmatch(r"\d\d:\d\d", value):
        try:
            return time.fromisoformat(value)
        except ValueError:
            return None
    return None
