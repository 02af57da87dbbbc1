"""Writing a new row at once, without a flush of the session: for rows on the hot path that later statements
need the id of (a new case, a queued letter), where a flush would write everything else pending too and costs
more in the ORM's unit of work than the row itself."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Column, Insert, inspect
from sqlalchemy.engine import RowMapping
from sqlalchemy.orm import ClassManager, Session, make_transient_to_detached

Row = TypeVar("Row")


@dataclass(frozen=True)
class _Shape:
    """What writing one mapped class takes, worked out once a process."""

    insert: Insert  # one statement a table, so SQLAlchemy builds and compiles it once
    columns: tuple[tuple[str, str, Column[Any]], ...]  # (attribute, column key, column) but the id
    attributes: frozenset[str]  # every column attribute, the id included
    manager: ClassManager[Any]  # makes an instance without the mapped constructor


_SHAPES: dict[type, _Shape] = {}


def write_now(session: Session, row: Row) -> Row:
    """INSERT ``row`` (a new ORM object, not yet added) and return it as part of the session, loaded as
    written, with its id. What is pending in the session is not flushed first: the rows ``row`` refers to
    must be written already (a case with its id is). A column left unset takes its default, or NULL."""
    shape = _shape(type(row))
    given = row.__dict__
    values: dict[str, Any] = {}
    for attribute, key, column in shape.columns:
        if attribute not in given:
            given[attribute] = _default(column)  # the row is taken as loaded just below: no change to record
        values[key] = given[attribute]
    given["id"] = session.connection().execute(shape.insert, values).scalar_one()
    make_transient_to_detached(row)
    session.add(row)
    return row


def write_new(session: Session, cls: type[Row], **values: Any) -> Row:
    """``write_now`` for a row made here from its column values: without the mapped constructor, whose
    attribute events cost as much as the INSERT's own work in SQLAlchemy, for a row written as it is made."""
    shape = _shape(cls)
    unknown = values.keys() - shape.attributes
    if unknown:
        raise TypeError(f"{cls.__name__} has no column {', '.join(sorted(unknown))}")
    row = shape.manager.new_instance()
    row.__dict__.update(values)
    return write_now(session, row)


def as_loaded(session: Session, cls: type[Row], found: RowMapping) -> Row:
    """The object of a row a plain statement read (all its columns, by column key), in the session as if
    the ORM had loaded it: what is set on it later is a change to it. Without the ORM's loading, which costs
    more than the statement for one row."""
    shape = _shape(cls)
    row = shape.manager.new_instance()
    row.__dict__.update({attribute: found[key] for attribute, key, _column in shape.columns})
    row.__dict__["id"] = found["id"]
    make_transient_to_detached(row)
    session.add(row)
    return row


def _shape(cls: type) -> _Shape:
    shape = _SHAPES.get(cls)
    if shape is None:
        mapper = inspect(cls)
        table = mapper.local_table
        columns = tuple(
            (attribute.key, attribute.columns[0].key, attribute.columns[0])
            for attribute in mapper.column_attrs
            if not attribute.columns[0].primary_key
        )
        attributes = frozenset(attribute.key for attribute in mapper.column_attrs)
        insert = table.insert().returning(table.c.id)
        shape = _SHAPES[cls] = _Shape(insert, columns, attributes, mapper.class_manager)
    return shape


def _default(column: Column[Any]) -> Any:
    default = column.default
    if default is None:
        return None
    if default.is_callable:  # such as ``default=list``: SQLAlchemy's wrapper takes an execution context
        return default.arg(None)  # type: ignore[attr-defined]
    return default.arg if default.is_scalar else None  # type: ignore[attr-defined]
