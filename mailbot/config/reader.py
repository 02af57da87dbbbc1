"""Reading typed values out of TOML tables, with the file and full key path in every error.

Used for the configuration file and the tables inside it ([staff], [digest]); a misspelt key is an error,
never silently ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mailbot.errors import UserError


class ConfigError(UserError):
    """A mistake in the configuration file, naming the file and the key."""

    def __init__(self, path: Path | str, key: str, message: str) -> None:
        self.path, self.key, self.message = str(path), key, message
        super().__init__(f"{path}: {key}: {message}")


class TomlReader:
    """Reads typed values out of one TOML table, remembering the key path for error messages."""

    def __init__(self, path: Path, table: Mapping[str, Any], prefix: str) -> None:
        self.path, self.table, self.prefix = path, table, prefix
        self.used: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def error(self, name: str, message: str) -> ConfigError:
        return ConfigError(self.path, self.key(name), message)

    def get(self, name: str, kind: type, default: Any = ..., what: str = "") -> Any:
        self.used.add(name)
        if name not in self.table:
            if default is ...:
                raise self.error(name, f"is required ({what or kind.__name__})")
            return default
        value = self.table[name]
        if (kind is int and isinstance(value, bool)) or not isinstance(value, kind):
            raise self.error(name, f"expected {what or kind.__name__}, got {value!r}")
        return value

    def text(self, name: str, default: Any = ...) -> Any:
        value = self.get(name, str, default, "a string")
        if isinstance(value, str) and not value.strip():
            raise self.error(name, "must not be empty")
        return value

    def positive(self, name: str, default: Any = ...) -> int:
        value = self.get(name, int, default, "a positive whole number")
        if value <= 0:
            raise self.error(name, f"expected a positive whole number, got {value!r}")
        return value

    def choice(self, name: str, choices: tuple[str, ...], default: Any = ...) -> str:
        value = self.get(name, str, default, "one of " + ", ".join(choices))
        if value not in choices:
            raise self.error(name, f"expected one of {', '.join(choices)}, got {value!r}")
        return value

    def sub(self, name: str, required: bool = False) -> TomlReader:
        table = self.get(name, dict, ... if required else {}, "a table")
        self.used.add(name)
        return TomlReader(self.path, table, self.key(name))

    def finish(self) -> None:
        unknown = sorted(set(self.table) - self.used)
        if unknown:
            raise self.error(unknown[0], f"unknown key (accepted here: {', '.join(sorted(self.used))})")
