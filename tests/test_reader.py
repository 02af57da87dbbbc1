"""The one TOML reader behind the configuration, policy files and classify.toml: each mistake names the file
and the full key path, and is raised as the caller's own error in the caller's own words."""

from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import Any

import pytest

from mailbot.config.reader import ConfigError, TomlReader, Wording, as_written

PATH = Path("settings.toml")


class GrumbleError(Exception):
    """A caller's own error, to show the reader raises whatever the caller asks for."""

    def __init__(self, path: Path, key: str, message: str) -> None:
        self.path, self.key, self.message = path, key, message
        super().__init__(f"{path} / {key} / {message}")


def reader(table: dict[str, Any], prefix: str = "") -> TomlReader:
    return TomlReader(PATH, table, prefix)


def mistake(read: Any) -> ConfigError:
    with pytest.raises(ConfigError) as raised:
        read()
    return raised.value


# --- unknown keys ----------------------------------------------------------------------------------------


def test_an_unknown_key_is_named_with_the_keys_accepted_after_reading() -> None:
    settings = reader({"host": "imap.example", "prot": 993, "port": 993}, "mailbox[0]")
    settings.text("host")
    settings.positive("port")
    error = mistake(settings.finish)
    assert error.key == "mailbox[0].prot"
    assert error.message == "unknown key (accepted here: host, port)"
    assert str(error) == "settings.toml: mailbox[0].prot: unknown key (accepted here: host, port)"


def test_allow_names_the_first_unknown_key_in_the_file_before_anything_is_read() -> None:
    error = mistake(lambda: reader({"days": 5, "dyas": 5, "mnths": 1}).allow("days", "unit", "months"))
    assert (error.key, error.message) == ("dyas", "unknown key (accepted here: days, unit, months)")


def test_a_table_with_only_known_keys_passes() -> None:
    settings = reader({"days": 5, "unit": "working"})
    settings.allow("days", "unit", "months")
    assert (settings.positive("days"), settings.choice("unit", ("working", "calendar"))) == (5, "working")
    settings.finish()


# --- wrong types -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "read", "message"),
    [
        (3, lambda r: r.text("name"), "expected a string, got 3"),
        ("  ", lambda r: r.text("name"), "must not be empty"),
        (0, lambda r: r.positive("name"), "expected a positive whole number, got 0"),
        (True, lambda r: r.positive("name"), "expected a positive whole number, got True"),
        ("yes", lambda r: r.flag("name"), "expected true or false, got 'yes'"),
        ("plain", lambda r: r.choice("name", ("tls", "none")), "expected one of tls, none, got 'plain'"),
        ("x", lambda r: r.get("name", list, [], "a list of minutes"), "expected a list of minutes, got 'x'"),
        (True, lambda r: r.get("name", int), "expected int, got True"),
        ([1], lambda r: r.strings("name", what="a list of names"), "expected a list of names, got [1]"),
        ("Bad Name", lambda r: r.identifier("name"), "expected a name in lower case letters, digits and _"),
        (5, lambda r: r.sub("name"), "expected a table, got 5"),
    ],
)
def test_a_value_of_the_wrong_type_says_what_would_be_accepted(value: Any, read: Any, message: str) -> None:
    error = mistake(lambda: read(reader({"name": value}, "section")))
    assert error.key == "section.name"
    assert error.message.startswith(message)


def test_a_whole_number_will_do_for_a_float_but_true_will_not() -> None:
    assert reader({"score": 2}).get("score", float) == 2
    assert mistake(lambda: reader({"score": True}).get("score", float)).message == "expected float, got True"


def test_a_choice_from_a_list_names_the_item_that_is_not_accepted() -> None:
    settings = reader({"must_tell": ["offer_advocate", "apologise"]}, "stages[0].respond")
    error = mistake(lambda: settings.choices("must_tell", ("offer_advocate", "escalation_route")))
    assert error.key == "stages[0].respond.must_tell[1]"
    assert error.message == "expected one of offer_advocate, escalation_route, got 'apologise'"


# --- missing keys and defaults ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("read", "message"),
    [
        (lambda r: r.text("host"), "is required (a string)"),
        (lambda r: r.positive("host"), "is required (a positive whole number)"),
        (lambda r: r.choice("host", ("a", "b")), "is required (one of a, b)"),
        (lambda r: r.get("host", list, ..., "one or more [[mailbox]] tables"), "is required (one or more"),
        (lambda r: r.sub("host", required=True), "is required (a table)"),
        (lambda r: r.tables("host"), "is required (at least one [[smtp.host]] table)"),
    ],
)
def test_a_missing_required_key_is_named(read: Any, message: str) -> None:
    error = mistake(lambda: read(reader({}, "smtp")))
    assert error.key == "smtp.host"
    assert error.message.startswith(message)


def test_an_absent_optional_key_gives_its_default_unchecked() -> None:
    settings = reader({})
    assert settings.text("folder", None) is None
    assert settings.positive("port", 993) == 993
    assert settings.flag("in_scope", True) is True
    assert settings.choices("must_tell", ("offer_advocate",)) == ()
    assert settings.optional_table("extension") is None
    assert settings.tables("routing", required=False) == []
    assert settings.sub("schedule").table == {}


# --- nested tables ---------------------------------------------------------------------------------------


def test_a_mistake_deep_inside_nested_tables_names_the_whole_key_path() -> None:
    document = {"stages": [{"name": "one"}, {"respond": {"extension": {"days": -2}}}]}
    stages = reader(document).tables("stages")
    extension = stages[1].required_table("respond").optional_table("extension")
    assert extension is not None
    error = mistake(lambda: extension.positive("days"))
    assert error.key == "stages[1].respond.extension.days"
    assert (
        str(error)
        == "settings.toml: stages[1].respond.extension.days: expected a positive whole number, got -2"
    )


def test_a_table_of_named_tables_is_read_in_file_order_with_each_name_in_its_path() -> None:
    kinds = reader({"kinds": {"complaint": {"label": "Complaint"}, "compliment": {"label": 4}}}).named_tables(
        "kinds"
    )
    assert [name for name, _ in kinds] == ["complaint", "compliment"]
    assert kinds[0][1].text("label") == "Complaint"
    assert mistake(lambda: kinds[1][1].text("label")).key == "kinds.compliment.label"


def test_an_empty_array_or_table_of_tables_where_one_is_needed() -> None:
    assert mistake(lambda: reader({"stages": []}).tables("stages")).message == (
        "expected at least one [[stages]] table, got none"
    )
    assert mistake(lambda: reader({"kinds": {}}).named_tables("kinds")).message == (
        "expected at least one [kinds.<name>] table, got none"
    )


# --- the caller's error and wording ----------------------------------------------------------------------


def test_the_error_raised_is_the_callers_and_tables_inside_raise_it_too() -> None:
    top = TomlReader(PATH, {"source": {"document": ""}}, error=GrumbleError)
    with pytest.raises(GrumbleError) as raised:
        top.required_table("source").text("document")
    assert (raised.value.path, raised.value.key) == (PATH, "source.document")
    assert raised.value.message == "must not be empty"


def test_the_wording_is_the_callers_and_tables_inside_keep_it() -> None:
    wording = Wording(
        missing="missing: expected {expected}",
        blank="expected some text, got {shown}",
        text="some text",
        table="a [{key}] table",
        show=as_written,
        option=as_written,
    )
    top = TomlReader(PATH, {"respond": {"unit": "fortnights", "label": " "}}, wording=wording)
    respond = top.required_table("respond")
    assert mistake(lambda: respond.choice("unit", ("working", "calendar"))).message == (
        'expected one of "working", "calendar", got "fortnights"'
    )
    assert mistake(lambda: respond.text("label")).message == 'expected some text, got " "'
    assert mistake(lambda: respond.positive("days")).message == "missing: expected a positive whole number"
    assert mistake(lambda: top.required_table("source")).message == "missing: expected a [source] table"


def test_a_wording_may_name_the_key_inside_the_message() -> None:
    wording = Wording(
        missing="missing {name!r} ({expected})", wrong="{name!r} must be a {expected}, not {shown}"
    )
    rule = TomlReader(PATH, {"phrases": "abuse"}, "rule", wording=wording)
    assert mistake(lambda: rule.strings("phrases", what="list of strings")).message == (
        "'phrases' must be a list of strings, not 'abuse'"
    )
    assert mistake(lambda: rule.value("type", "rule type")).message == "missing 'type' (rule type)"


@pytest.mark.parametrize(
    ("value", "written"),
    [(True, "true"), ("café", '"café"'), ({"a": 1}, "a table"), ([1], "a list"), (time(17, 0), "17:00:00")],
)
def test_values_as_written_in_toml(value: object, written: str) -> None:
    assert as_written(value) == written
