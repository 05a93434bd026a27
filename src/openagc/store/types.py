"""Column-type helpers that let ``schema.py`` read like upstream's MySQL DDL.

Every helper yields a portable SQLAlchemy type for SQLite and the exact MySQL/MariaDB type
(unsigned integers, ENUM, MEDIUMTEXT, DATETIME(6) ...) through ``with_variant``.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.schema import CreateColumn
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeEngine

__all__ = [
    "BIGINT",
    "DATE",
    "DATETIME",
    "DATETIME6",
    "DECIMAL",
    "DOUBLE",
    "INT",
    "MEDIUMINT",
    "MEDIUMTEXT",
    "SMALLINT",
    "TEXT",
    "TIME",
    "TIMESTAMP",
    "TINYINT",
    "VARCHAR",
    "auto_pk",
    "col",
    "default",
    "enum",
    "now_local",
    "updated_timestamp",
]

_MYSQL = ("mysql", "mariadb")


def _variant(base: TypeEngine[Any], mysql_type: TypeEngine[Any]) -> TypeEngine[Any]:
    return base.with_variant(mysql_type, *_MYSQL)


def VARCHAR(length: int) -> sa.String:  # noqa: N802 - mirrors the DDL keyword
    return sa.String(length)


def TINYINT(width: int | None = None, unsigned: bool = False) -> TypeEngine[Any]:  # noqa: N802
    return _variant(sa.SmallInteger(), mysql.TINYINT(width, unsigned=unsigned))


def SMALLINT(width: int | None = None, unsigned: bool = False) -> TypeEngine[Any]:  # noqa: N802
    return _variant(sa.SmallInteger(), mysql.SMALLINT(width, unsigned=unsigned))


def MEDIUMINT(width: int | None = None, unsigned: bool = False) -> TypeEngine[Any]:  # noqa: N802
    return _variant(sa.Integer(), mysql.MEDIUMINT(width, unsigned=unsigned))


def INT(width: int | None = None, unsigned: bool = False) -> TypeEngine[Any]:  # noqa: N802
    return _variant(sa.Integer(), mysql.INTEGER(width, unsigned=unsigned))


def BIGINT(width: int | None = None, unsigned: bool = False) -> TypeEngine[Any]:  # noqa: N802
    return _variant(sa.BigInteger(), mysql.BIGINT(width, unsigned=unsigned))


def DECIMAL(precision: int, scale: int) -> TypeEngine[Any]:  # noqa: N802
    return sa.Numeric(precision, scale, asdecimal=True)


def DOUBLE(precision: int | None = None, scale: int | None = None) -> TypeEngine[Any]:  # noqa: N802
    return _variant(sa.Float(), mysql.DOUBLE(precision=precision, scale=scale, asdecimal=False))


_SQLITE_SECONDS = "%(year)04d-%(month)02d-%(day)02d %(hour)02d:%(minute)02d:%(second)02d"


def DATETIME() -> TypeEngine[Any]:  # noqa: N802
    """DATETIME: whole seconds, stored on SQLite as `YYYY-MM-DD HH:MM:SS` like MariaDB prints it."""
    return sa.DateTime().with_variant(sqlite.DATETIME(storage_format=_SQLITE_SECONDS), "sqlite")


def DATETIME6() -> TypeEngine[Any]:  # noqa: N802
    """DATETIME(6): microsecond precision on MySQL/MariaDB."""
    return _variant(sa.DateTime(), mysql.DATETIME(fsp=6))


def DATE() -> TypeEngine[Any]:  # noqa: N802
    return sa.Date()


def TIME() -> TypeEngine[Any]:  # noqa: N802
    return sa.Time()


def TIMESTAMP() -> TypeEngine[Any]:  # noqa: N802
    return _variant(sa.DateTime(), mysql.TIMESTAMP())


def TEXT() -> TypeEngine[Any]:  # noqa: N802
    return _variant(sa.Text(), mysql.TEXT())


def MEDIUMTEXT() -> TypeEngine[Any]:  # noqa: N802
    return _variant(sa.Text(), mysql.MEDIUMTEXT())


def enum(*values: str) -> sa.Enum:
    """ENUM(...) on MySQL/MariaDB, a plain VARCHAR (no CHECK) elsewhere."""
    return sa.Enum(*values, native_enum=True, create_constraint=False, validate_strings=False)


def default(value: str | int | float) -> str:
    """A server default as upstream writes it: ``default('0')`` and ``default(0)`` -> DEFAULT '0'. SQLAlchemy renders
    (and quotes) the value as a literal; MariaDB and SQLite's column affinity store it with the column's type."""
    return str(value)


class now_local(FunctionElement[Any]):  # noqa: N801 - used like a SQL function
    """The database's local 'now': CURRENT_TIMESTAMP on MySQL, localtime on SQLite."""

    type = sa.DateTime()
    inherit_cache = True


@compiles(now_local)
def _now_default(element: now_local, compiler: Any, **kw: Any) -> str:
    return "CURRENT_TIMESTAMP"


@compiles(now_local, "sqlite")
def _now_sqlite(element: now_local, compiler: Any, **kw: Any) -> str:
    return "datetime('now', 'localtime')"


@compiles(CreateColumn, "mysql")
@compiles(CreateColumn, "mariadb")
def _create_column_mysql(element: CreateColumn[Any], compiler: Any, **kw: Any) -> str:
    text: str = compiler.visit_create_column(element, **kw)
    if element.element.info.get("mysql_on_update_now"):
        text += " ON UPDATE CURRENT_TIMESTAMP"
    return text


def col(name: str, type_: TypeEngine[Any], *args: Any, dflt: str | int | float | None = None,
        nullable: bool = True, **kw: Any) -> sa.Column[Any]:
    """A column with upstream's nullability (NULL unless told) and optional server default."""
    if dflt is not None:
        kw["server_default"] = default(dflt)
    return sa.Column(name, type_, *args, nullable=nullable, **kw)


def auto_pk(name: str, mysql_type: TypeEngine[Any] | None = None) -> sa.Column[Any]:
    """An AUTO_INCREMENT primary key that is also INTEGER PRIMARY KEY (rowid) on SQLite."""
    return sa.Column(
        name,
        sa.Integer().with_variant(mysql_type or mysql.INTEGER(9, unsigned=True), *_MYSQL),
        primary_key=True,
        autoincrement=True,
        nullable=False,
    )


def updated_timestamp(name: str) -> sa.Column[Any]:
    """TIMESTAMP NOT NULL DEFAULT now ON UPDATE now (MySQL); the update is also done by Core."""
    return sa.Column(
        name,
        TIMESTAMP(),
        nullable=False,
        server_default=now_local(),
        onupdate=now_local(),
        info={"mysql_on_update_now": True},
    )
