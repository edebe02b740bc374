"""Credentials: filled in from the environment at the moment of use, shown nowhere.

A data location names its secrets as ``${VAR}`` references, e.g.
``postgresql://report:${PGPASSWORD}@db.internal:5432/crm``. :func:`expand`
fills them from the environment or from a ``.env``-style file, only when a
connection is opened; everything the kit writes or shows (the data location
on pages, notebook parameters, logs, error messages) goes through
:func:`redact`, which removes the password part of a URI
(``report:***@db.internal``), ``password=...`` settings, and the literal
value of every secret the kit has seen (an expanded ``${VAR}`` in a URI's
password, or an environment variable named like a secret: ``PGPASSWORD``,
``*_PASSWORD``, ``*_TOKEN``, ``*_SECRET``, ``*_KEY``), should a database
driver quote it back.
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path

from alignment_lib.exceptions import SourceError

__all__ = ["contains_secret", "expand", "read_env_file", "redact", "references", "remember"]

_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
#: environment variable names whose values are secrets (their values are redacted anywhere)
_SECRET_NAME = re.compile(r"(?i)(^|_)(PASSWORD|PASSWD|PASS|PWD|SECRET|TOKEN|KEY)($|_)|PGPASSWORD")
#: a URI with a password: scheme://user:password@ (the password up to the last @ of the token)
_URI_PASSWORD = re.compile(
    r"([A-Za-z][A-Za-z0-9+.\-]*://[^\s/:@'\"]*):([^\s'\"]*)@(?=[^\s@'\"]*(?:$|[\s'\"]))"
)
_KEY_PASSWORD = re.compile(r"(?i)\b(password|passwd|pwd)(\s*=\s*)('[^']*'|\"[^\"]*\"|[^&\s'\";]*)")
#: shorter values are not redacted as literals (they would blank ordinary words); an
#: environment variable merely named like a secret must be longer (``USE_TOKEN=true``)
_MIN_SECRET = 4
_MIN_ENV_SECRET = 6
#: variables whose name looks secret but are the shell's working directories, not passwords
#: (as secrets, every data path under the current folder would read as holding a password)
_NOT_SECRETS = frozenset({"PWD", "OLDPWD"})
_MASK = "***"

_seen: set[str] = set()
_lock = threading.Lock()


def references(text: str) -> list[str]:
    """The names of the ``${VAR}`` references in ``text``, in order, once each."""
    return list(dict.fromkeys(_REFERENCE.findall(text)))


def read_env_file(path: str | Path) -> dict[str, str]:
    """The ``NAME=value`` lines of a ``.env``-style file.

    Blank lines and ``#`` comments are skipped; ``export NAME=value`` is
    accepted; a value may be quoted with ``'`` or ``"`` (quotes removed, no
    escapes or ``${...}`` expansion inside). Raises :class:`SourceError`
    naming the file and line of anything else (the line's value is never
    quoted back: it may be a password).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SourceError(
            f"cannot read the env file '{path}': {exc.strerror or exc}; fix: check the path "
            "and its permissions"
        ) from exc
    except UnicodeDecodeError as exc:
        raise SourceError(f"the env file '{path}' is not UTF-8; fix: save it as UTF-8") from exc
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("export "):
            stripped = stripped[len("export ") :].lstrip()
        name, sep, value = stripped.partition("=")
        name = name.strip()
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise SourceError(
                f"the env file '{path}', line {number}: is not NAME=value; fix: write one "
                "variable per line as NAME=value (# starts a comment)"
            )
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[name] = value
    return values


def expand(text: str, *, env_file: str | Path | None = None) -> str:
    """``text`` with every ``${VAR}`` replaced by the variable's value.

    Values come from the environment first, then from ``env_file`` (a
    ``.env``-style file, see :func:`read_env_file`). A reference that neither
    holds is a :class:`SourceError` naming the variable and where it was
    looked for (never a value). The values filled into a URI's password are
    remembered, so :func:`redact` removes them wherever they appear later.
    """
    names = references(text)
    if not names:
        return text
    from_file = read_env_file(env_file) if env_file is not None else {}
    missing = [n for n in names if n not in os.environ and n not in from_file]
    if missing:
        where = "the environment" + (f" or the env file '{env_file}'" if env_file else "")
        listed = ", ".join(missing)
        raise SourceError(
            f"the data location names {', '.join('${' + n + '}' for n in missing)}, but "
            f"{listed} {'is' if len(missing) == 1 else 'are'} not set in {where}; fix: "
            f"export {missing[0]}=... before running the kit"
            + (", or add it to the env file" if env_file else ", or put it in an env file")
        )
    values = {n: os.environ[n] if n in os.environ else from_file[n] for n in names}
    secret = _password_references(text)
    with _lock:
        for name, value in values.items():
            if (name in secret or _SECRET_NAME.search(name)) and len(value) >= _MIN_SECRET:
                _seen.add(value)
    return _REFERENCE.sub(lambda m: values[m.group(1)], text)


def remember(value: str) -> None:
    """Redact ``value`` from now on wherever it appears (a password written in a URI)."""
    if len(value) >= _MIN_SECRET:
        with _lock:
            _seen.add(value)


def _password_references(text: str) -> set[str]:
    """The ``${VAR}`` names that sit in the password part of a URI in ``text``."""
    names: set[str] = set()
    for match in re.finditer(r"://[^\s/:@]*:([^\s]*)@", text):
        names.update(_REFERENCE.findall(match.group(1)))
    return names


def contains_secret(text: str) -> bool:
    """Whether ``text`` holds a credential written out (a ``${VAR}`` reference is not one).

    A URI's password or a ``password=`` setting that is not exactly one
    reference, or a secret value :func:`redact` knows.
    """
    written = [m.group(2) for m in _URI_PASSWORD.finditer(text)]
    written += [m.group(3).strip("'\"") for m in _KEY_PASSWORD.finditer(text)]
    if any(w and not _REFERENCE.fullmatch(w) for w in written):
        return True
    return any(value in text for value in _known())


def _known() -> set[str]:
    """The secret values to redact: seen by expand or remember, or in secret-named variables."""
    with _lock:
        known = set(_seen)
    known.update(
        value
        for name, value in os.environ.items()
        if _SECRET_NAME.search(name)
        and name.upper() not in _NOT_SECRETS
        and len(value) >= _MIN_ENV_SECRET
    )
    return known


def redact(text: str) -> str:
    """``text`` without credentials: safe to print, log, or show on a page.

    ``postgresql://report:s3cret@db:5432/crm`` -> ``postgresql://report:***@db:5432/crm``
    (a ``${VAR}`` reference is masked the same way); ``password=s3cret`` ->
    ``password=***``; and every secret value seen by :func:`expand` or held
    by an environment variable named like a secret (``PGPASSWORD``,
    ``*_PASSWORD``, ...) becomes ``***``.
    """
    text = _URI_PASSWORD.sub(rf"\1:{_MASK}@", text)
    text = _KEY_PASSWORD.sub(rf"\1\2{_MASK}", text)
    for value in sorted(_known(), key=len, reverse=True):
        if value in text:
            text = text.replace(value, _MASK)
    return text
