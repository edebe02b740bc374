"""A PostgreSQL database by URI: ``postgresql://user:${PGPASSWORD}@host:5432/db``.

Read through ADBC (Arrow Database Connectivity; the ``adbc-driver-postgresql``
package, ``pip install 'alignment-kit[postgresql]'``) into polars. Tables (or
views) named leads, opportunities, stage_history and targets on the
connection's search path; only opportunities is required. Everything the URI
can say to libpq works (``?sslmode=require``, ``?options=-csearch_path%3Dcrm``);
``connect_timeout=10`` is added unless the URI sets one, so an unreachable
server is an error within seconds.

The password is never written in the URI the kit keeps: ``${VAR}``
references are filled from the environment (or an env file) only when the
connection opens (:func:`alignment_lib.secrets.expand`). ``description`` and
every message are redacted (:func:`alignment_lib.secrets.redact`); a
driver's error is re-raised as a :class:`SourceError` without the original
exception attached, so a traceback cannot quote the URI either.
"""

from __future__ import annotations

from contextlib import suppress
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

import polars as pl

from alignment_lib.exceptions import SourceError
from alignment_lib.secrets import expand, redact, references, remember
from alignment_lib.sources._base import SourceOptions
from alignment_lib.sources._sql import DatabaseSource

__all__ = ["POSTGRESQL_SCHEMES", "PostgreSQLSource"]

#: URI schemes read by this source (``postgresql+psycopg://`` and the like are accepted too)
POSTGRESQL_SCHEMES = ("postgresql", "postgres")
#: seconds libpq waits for a server before giving up (unless the URI says otherwise)
CONNECT_TIMEOUT = 10


def _driver() -> Any:
    try:
        import adbc_driver_manager
        import adbc_driver_postgresql.dbapi as dbapi
    except ImportError as exc:
        raise SourceError(
            "reading PostgreSQL needs the adbc-driver-postgresql package, which is not "
            "installed; fix: pip install 'alignment-kit[postgresql]' (in a clone: "
            ".venv/bin/pip install -e '.[postgresql]')"
        ) from exc
    return dbapi, adbc_driver_manager


def _normalise(uri: str) -> str:
    """``postgres(ql)[+driver]://...`` as libpq's ``postgresql://...``, with a connect timeout."""
    parts = urlsplit(uri)
    scheme = parts.scheme.split("+", 1)[0].lower()
    if scheme not in POSTGRESQL_SCHEMES:
        raise SourceError(f"'{redact(uri)}' is not a postgresql:// URI")
    query = parse_qsl(parts.query, keep_blank_values=True)
    if not any(k == "connect_timeout" for k, _ in query):
        query.append(("connect_timeout", str(CONNECT_TIMEOUT)))
    return urlunsplit(("postgresql", parts.netloc, parts.path, urlencode(query, safe="${}"), ""))


class PostgreSQLSource(DatabaseSource):
    """The canonical tables of a PostgreSQL database.

    ``uri``: ``postgresql://user:${PGPASSWORD}@host:5432/db`` (a password
    written in the URI itself works too, and is redacted everywhere, but then
    sits in your shell history: prefer a reference). ``env_file``: a
    ``.env``-style file to fill ``${VAR}`` references from when the
    environment lacks them.
    """

    format = "postgresql"
    dialect = "PostgreSQL"

    def __init__(
        self,
        uri: str,
        *,
        options: SourceOptions | None = None,
        env_file: str | Path | None = None,
    ) -> None:
        password = urlsplit(uri).password
        if password and not references(password):
            # written into the URI: never show it, wherever a driver may quote it back
            remember(password)
            remember(unquote(password))
        super().__init__(description=redact(uri), options=options)
        self._uri = _normalise(uri)
        self.env_file = env_file
        self._conn: Any = None

    def _connect(self) -> Any:
        if self._conn is not None:
            return self._conn
        dbapi, manager = _driver()
        uri = expand(self._uri, env_file=self.env_file)
        try:
            self._conn = dbapi.connect(uri)
        except manager.Error as exc:
            raise SourceError(self._connect_message(exc)) from None
        return self._conn

    def _connect_message(self, exc: BaseException) -> str:
        text = redact(" ".join(str(exc).split())) or type(exc).__name__
        low = text.lower()
        where = f"cannot connect to the database {self.description}"
        if "password authentication failed" in low or "no password supplied" in low:
            names = references(self._uri)
            if names:
                named = f"${{{names[0]}}}, filled from the environment or the env file"
            elif urlsplit(self._uri).password:
                named = "the one written in the URI"
            else:
                named = "the URI has none: PGPASSWORD in the environment, or ~/.pgpass"
            return (
                f"{where}: the server refused the user name or password; fix: check the user "
                f"in the URI and the password ({named})"
            )
        if "does not exist" in low and "database" in low:
            return f"{where}: {_detail(text)}; fix: check the database name at the end of the URI"
        unreachable = (
            "connection refused",
            "could not translate host name",
            "timeout expired",
            "no route to host",
            "network is unreachable",
            "name or service not known",
        )
        if any(s in low for s in unreachable):
            return (
                f"{where}: the server cannot be reached ({_detail(text)}); fix: check the host "
                "and port in the URI, that the server is running, and that it accepts TCP "
                "connections from this machine (listen_addresses, pg_hba.conf, a firewall)"
            )
        return f"{where}: {_detail(text)}; fix: check the URI (docs/sources.md)"

    def _read(self, sql: str, *, name: str) -> pl.DataFrame:
        conn = self._connect()
        self.queries.append(sql)
        _, manager = _driver()
        try:
            return pl.read_database(sql, connection=conn)
        except manager.Error as exc:
            text = _detail(redact(" ".join(str(exc).split())))
            try:
                conn.rollback()  # a failed statement aborts the transaction
            except manager.Error:
                self.close()
            raise SourceError(
                f"PostgreSQL could not read {name} from {self.description}: {text}; fix: check "
                f"the SQL of {name} (PostgreSQL's dialect), that the tables and columns it "
                "names exist, and that the user may read them (GRANT SELECT)"
            ) from None

    def _table_names(self) -> list[str]:
        frame = self._read(
            "SELECT table_name::text AS table_name FROM information_schema.tables "
            "WHERE table_schema = ANY (current_schemas(false))",
            name="the table list",
        )
        return frame["table_name"].to_list()

    def close(self) -> None:
        if self._conn is not None:
            with suppress(Exception):  # already broken: nothing to close
                self._conn.close()
            self._conn = None


#: what ADBC puts before libpq's own message
_PREFIXES = (
    "IO: ",
    "NOT_FOUND: ",
    "INVALID_ARGUMENT: ",
    "INTERNAL: ",
    "[libpq] ",
    "Failed to connect: ",
)


def _detail(text: str) -> str:
    """A driver message without ADBC's prefixes ("IO: [libpq] Failed to connect: ...")."""
    stripped = True
    while stripped:
        stripped = False
        for prefix in _PREFIXES:
            if text.startswith(prefix):
                text = text[len(prefix) :]
                stripped = True
    return text.removesuffix(".").strip()
