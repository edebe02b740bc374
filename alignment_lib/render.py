"""Rendering the report bundle: execute workbooks, export HTML, swap in atomically.

Layout under the output folder ``<out>`` (docs/rendering.md has the details):

- ``<out>/<folder>`` is a symbolic link to the current build
  ``<out>/.<folder>.<stamp>-<pid>-<token>/``, where ``<folder>`` is the quarter
  (``FY2026-Q3``) or, for a filtered render, the quarter and the filter
  (``FY2026-Q3-segment-Enterprise-region-EMEA``, see :func:`report_folder`).
- A render writes a new build beside the current one and publishes it with one
  ``rename(2)`` of a new link over the old (atomic on POSIX): a reader sees the
  whole previous report or the whole new one, never a missing or half folder.
  The previous build is then removed.
- ``<out>/.<folder>.lock`` is held (``flock``) for the whole render: a second
  render of the same folder waits up to ``wait`` seconds, then refuses
  (:class:`ReportBusyError`, naming the other render's pid).
- Every build carries a marker file, ``.alignment-report``. The kit deletes
  and replaces only what carries it: anything else at ``<out>/<folder>`` is an
  :class:`OutputError`, and is left as it is.
- A failure (or Ctrl-C, SIGTERM, a full disk) leaves the previous report
  byte-for-byte as it was and removes the partial build. A failed workbook's
  executed notebook (only that) is kept under ``<out>/.failed/<folder>/``;
  :class:`RenderError` names the workbook, the cell and the error. Builds of
  renders that died (SIGKILL, power loss) are removed by the next render.
- Given the report's data (``render_report(data=...)``, as ``alignment
  report`` does), the render writes it as a validated snapshot into
  ``<build>/.snapshot/`` (owner-only) and runs every workbook on it; the
  snapshot is removed before the build is published (docs/sources.md).
- Every executed notebook shows its parameters as a reader may see them: the
  data location's description (no absolute path, no credential) in place of
  the path it ran on, a targets file by its name (papermill's
  injected-parameters cell and its metadata are rewritten after the run).
"""

from __future__ import annotations

import atexit
import datetime as dt
import errno
import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
import socket
import tempfile
import threading
import time
import unicodedata
import uuid
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import papermill as pm
import polars as pl
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import ensure_event_loop

from alignment_lib._resources import notebook_dir
from alignment_lib.exceptions import OutputError, ParameterError, RenderError, ReportBusyError
from alignment_lib.lab import trust_notebook
from alignment_lib.load import FunnelData, write_snapshot
from alignment_lib.secrets import contains_secret, redact
from alignment_lib.workbook import describe_filters

__all__ = [
    "MARKER",
    "NOTEBOOK_DIR",
    "SNAPSHOT",
    "WORKBOOKS",
    "Headline",
    "ReportResult",
    "check_output_folder",
    "check_parameters",
    "display_location",
    "filter_label",
    "render_report",
    "report_folder",
    "show_parameters",
]

NOTEBOOK_DIR = notebook_dir()

#: workbook file stem -> page title, in the order the report lists them
WORKBOOKS: dict[str, str] = {
    "scorecard": "Shared scorecard",
    "pipeline_vs_closes": "Pipeline vs closes",
    "handoff": "The handoff",
    "funnel": "Funnel",
    "business_cycles": "Business cycles",
    "data_health": "Data health",
}

_TYPES: dict[str, tuple[type, ...]] = {
    "int": (int,),
    "float": (int, float),
    "str": (str,),
    "bool": (bool,),
}


@dataclass(frozen=True)
class ReportResult:
    """Where a finished render put its pages."""

    folder: Path
    executive: dict[str, Path]
    analyst: dict[str, Path]
    notebooks: dict[str, Path]
    index: Path | None = None


@dataclass(frozen=True)
class Headline:
    """What the landing page shows above the links: the shared scorecard.

    ``currency``: the ISO 4217 code of its amounts (the data's).
    ``targets_note``: why the report has no targets, when it has none (e.g. a
    filtered report: "No targets are set for Segment: Enterprise; ...",
    ``Tracking.missing("targets")``); empty when targets apply.
    """

    as_of: dt.datetime
    scorecard: pl.DataFrame
    currency: str = "USD"
    targets_note: str = ""


def check_parameters(notebook: Path, values: Mapping[str, Any]) -> dict[str, Any]:
    """Check values against a notebook's parameters cell; return the ones it declares.

    papermill only warns about a misspelled parameter and silently uses the
    default; here an unknown name or a value of the wrong type is an error.
    """
    declared = pm.inspect_notebook(str(notebook))
    if not declared:
        raise ParameterError(
            f"{notebook.name} has no cell tagged 'parameters'; fix: tag its parameters cell"
        )
    unknown = sorted(set(values) - set(declared))
    if unknown:
        raise ParameterError(
            f"unknown parameter{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} for "
            f"{notebook.name}; it takes: {', '.join(sorted(declared))}"
        )
    for name, value in values.items():
        expected = declared[name]["inferred_type_name"]
        allowed = _TYPES.get(expected.split(" ")[0])
        if allowed is None:
            continue
        if (isinstance(value, bool) and bool not in allowed) or not isinstance(value, allowed):
            raise ParameterError(
                f"parameter {name} of {notebook.name} must be {expected}, got "
                f"{type(value).__name__} {value!r}"
            )
    return dict(values)


def _declared(notebook: Path) -> set[str]:
    return set(pm.inspect_notebook(str(notebook)))


#: the file every folder the kit writes carries; the kit deletes or replaces nothing without it
MARKER = ".alignment-report"
_MARKER_TEXT = (
    "Written by the alignment kit (alignment_lib.render). The kit deletes and replaces\n"
    "only folders that carry this file; see docs/rendering.md.\n"
)
#: in a build while it is being written: who writes it (pid, host), to spot dead renders
_STAGING = ".alignment-staging"

_QUARTER = re.compile(r"FY\d{4}-Q[1-4]")
_VERBATIM = re.compile(r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*")
_SEPARATOR = re.compile(r"(?i)-(?:segment|region)-")
#: longest filter value kept verbatim (or as the readable part of a hashed slug)
_MAX_SLUG = 40
_BUILD = re.compile(r"\.([A-Za-z0-9_-]+)\.(\d{8}T\d{6}-(\d+)-[0-9a-f]{6})")
_LEGACY = re.compile(r"\.(?:tmp|old)-FY\d{4}-Q[1-4]-(\d+)")


def _slug(value: str) -> str:
    """A filter value as a safe part of one path component.

    Kept as is when it is letters, digits and single hyphens (at most 40
    characters, and not containing '-segment-' or '-region-', which separate
    the parts); otherwise its ASCII letters and digits joined by hyphens (at
    most 40) and the first 8 hex digits of its SHA-256, so two values never
    share a folder and '../', '/', spaces, unicode or 300 characters stay
    inside ``<out>``.
    """
    if len(value) <= _MAX_SLUG and _VERBATIM.fullmatch(value) and not _SEPARATOR.search(value):
        return value
    ascii_text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    readable = "-".join(re.findall(r"[A-Za-z0-9]+", ascii_text))[:_MAX_SLUG].strip("-")
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{readable}-{digest}" if readable else digest


def report_folder(quarter: str, *, segment: str | None = None, region: str | None = None) -> str:
    """The name of a render's folder under ``<out>``: one safe path component.

    ``FY2026-Q3`` for the company report; a filter adds its parts, so a
    filtered render never replaces the company report:
    ``FY2026-Q3-segment-Enterprise``, ``FY2026-Q3-region-EMEA``,
    ``FY2026-Q3-segment-Enterprise-region-EMEA``. An empty value means no
    filter, as in ``FunnelData.where``.
    """
    if not isinstance(quarter, str) or not _QUARTER.fullmatch(quarter):
        raise ParameterError(f"quarter must be a label like FY2026-Q3, got {quarter!r}")
    parts = [quarter]
    for name, value in (("segment", segment), ("region", region)):
        if value not in (None, ""):
            parts += [name, _slug(str(value))]
    return "-".join(parts)


def filter_label(*, segment: str | None = None, region: str | None = None) -> str:
    """The filter in words for page titles: ``Segment: Enterprise · Region: EMEA`` ('' if none).

    Not escaped: the pages escape it where they put it. The same words as the
    banner on every page (:func:`alignment_lib.workbook.describe_filters`).
    """
    return describe_filters({"segment": segment or "", "region": region or ""})


_FULL = {errno.ENOSPC, errno.EDQUOT}
_DENIED = {errno.EACCES, errno.EPERM, errno.EROFS}
_NOT_A_FOLDER = {errno.ENOTDIR, errno.EEXIST}


def _inside(path: str | os.PathLike[str] | None, folder: Path) -> bool:
    if path is None:
        return False
    try:
        return Path(os.path.abspath(path)).is_relative_to(folder)
    except (TypeError, ValueError):
        return False


def _output_error(exc: BaseException, out_dir: Path) -> OutputError | None:
    """The environment problem behind an OSError, as a one-line message with the fix."""
    if not isinstance(exc, OSError):
        return None
    where = exc.filename or out_dir
    if exc.errno in _FULL:
        return OutputError(
            f"the disk holding {out_dir} is full ({os.strerror(exc.errno)} writing {where}); "
            "the previous report is untouched and the partial render was removed; fix: free "
            "some space (a report needs a few tens of MB; --no-images needs less) "
            "or pass --out a folder on another disk"
        )
    if not (_inside(exc.filename, out_dir) or _inside(exc.filename2, out_dir)):
        return None
    if exc.errno == errno.EROFS:
        return OutputError(
            f"cannot write the report to {out_dir}: it is on a read-only file system "
            f"(writing {where}); fix: pass --out a writable folder"
        )
    if exc.errno in _DENIED:
        return OutputError(
            f"cannot write the report to {out_dir}: permission denied (writing {where}); "
            f"fix: pass --out a folder you can write to, or give yourself write access to it"
        )
    if exc.errno in _NOT_A_FOLDER:
        return OutputError(
            f"cannot write the report to {out_dir}: {where} is in the way (a file where a "
            "folder must be); fix: pass --out a folder path, or move that file away"
        )
    return None


@contextmanager
def _environment_errors(out_dir: Path) -> Iterator[None]:
    """Turn an environment OSError (full disk, read-only, no permission) into OutputError."""
    try:
        yield
    except OSError as exc:
        problem = _output_error(exc, out_dir)
        if problem is None:
            raise
        raise problem from exc


def check_output_folder(out_dir: str | Path) -> Path:
    """Check, without writing anything, that a report can be written under ``out_dir``.

    Returns the absolute path. Raises :class:`OutputError` when a file is in
    the way (``out_dir`` or one of its parents is a file), or the nearest
    existing folder is read-only or not writable. The command line calls it
    before reading the data, so a wrong ``--out`` fails at once.
    """
    out_dir = Path(os.path.abspath(out_dir))
    for folder in (out_dir, *out_dir.parents):
        if folder.exists() or folder.is_symlink():
            if not folder.is_dir():
                raise OutputError(
                    f"cannot write the report to {out_dir}: {folder} is a file, not a folder; "
                    "fix: pass --out a folder path, or move that file away"
                )
            if not os.access(folder, os.W_OK | os.X_OK):
                error = OSError(errno.EACCES, os.strerror(errno.EACCES), str(folder))
                if os.statvfs(folder).f_flag & os.ST_RDONLY:
                    error = OSError(errno.EROFS, os.strerror(errno.EROFS), str(folder))
                problem = _output_error(error, folder)
                assert problem is not None
                raise OutputError(str(problem).replace(str(folder), str(out_dir), 1))
            break
    return out_dir


def _prepare_out(out_dir: Path) -> None:
    """Create ``out_dir``; a file in its way or no permission is an OutputError."""
    check_output_folder(out_dir)
    with _environment_errors(out_dir):
        out_dir.mkdir(parents=True, exist_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _holder_text(info: dict[str, Any]) -> str:
    if not info:
        return "another render"
    return (
        f"the render with pid {info.get('pid')} on {info.get('host')} "
        f"(started {info.get('started_at')})"
    )


def _read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _whoami() -> dict[str, Any]:
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


@contextmanager
def _folder_lock(
    out_dir: Path, folder: str, *, wait: float, progress: Callable[[str], None] | None
) -> Iterator[None]:
    """Hold ``<out>/.<folder>.lock`` (flock) while rendering that folder.

    A second render waits up to ``wait`` seconds (polling), then refuses with
    the holder's pid. flock locks belong to the open file, so two renders in
    one process exclude each other too, and the kernel releases the lock of a
    killed process. The lock file is never deleted (that would race).
    """
    path = out_dir / f".{folder}.lock"
    with _environment_errors(out_dir):
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        deadline = time.monotonic() + max(wait, 0.0)
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = _holder_text(_read_json(path))
                if time.monotonic() >= deadline:
                    raise ReportBusyError(
                        f"{holder} is writing {out_dir / folder}; waited {wait:g}s; fix: wait "
                        "for it to finish (or stop it), then render again; --wait SECONDS "
                        "waits longer"
                    ) from None
                if not told and progress:
                    progress(f"waiting up to {wait:g}s for {holder} to finish {folder}")
                    told = True
                time.sleep(0.1)
        with _environment_errors(out_dir):
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(_whoami()).encode(), 0)
        try:
            yield
        finally:
            with suppress(OSError):
                os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # releases the lock


def _is_build(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink() and (path / MARKER).is_file()


def _current_build(out_dir: Path, folder: str) -> Path | None:
    """The build ``<out>/<folder>`` links to; None if there is nothing there yet.

    Anything else at that path (a folder, a file, a link the kit did not make)
    was not written by the kit: an OutputError, and it is left as it is.
    """
    final = out_dir / folder
    if final.is_symlink():
        target = os.readlink(final)
        match = _BUILD.fullmatch(target)
        if match and match.group(1) == folder and _is_build(out_dir / target):
            return out_dir / target
        what = f"a symbolic link to {target} that the kit did not make"
    elif final.exists():
        what = "a folder" if final.is_dir() else "a file"
    else:
        return None
    raise OutputError(
        f"{final} is {what}, not a report of the kit (no {MARKER} marker), so the kit will not "
        f"delete or replace it; fix: move it away (mv {final} {final}.mine), or pass another "
        "--out (a report written by an earlier version of the kit can simply be deleted)"
    )


def _remove_stale(out_dir: Path, folder: str, current: Path | None) -> list[str]:
    """Remove what dead renders left: run while holding ``folder``'s lock.

    Builds of ``folder`` other than ``current`` are dead (the lock says no one
    else writes them). Builds of other folders are removed only while being
    written by a process of this host that no longer runs, and never the one
    their folder links to. Only folders with the marker are touched.
    """
    removed: list[str] = []
    host = socket.gethostname()
    for entry in out_dir.iterdir():
        name = entry.name
        if name.startswith(f".{folder}.") and name.endswith(".link") and entry.is_symlink():
            entry.unlink(missing_ok=True)  # a swap killed half-way
            removed.append(name)
            continue
        build = _BUILD.fullmatch(name)
        legacy = _LEGACY.fullmatch(name)
        if build and _is_build(entry):
            if build.group(1) == folder:
                stale = entry != current
            else:
                staging = _read_json(entry / _STAGING)
                other = out_dir / build.group(1)
                linked = other.is_symlink() and os.readlink(other) == name
                stale = (
                    bool(staging)
                    and staging.get("host") == host
                    and isinstance(staging.get("pid"), int)
                    and not _alive(staging["pid"])
                    and not linked
                )
        elif legacy and entry.is_dir() and not entry.is_symlink():
            # staging and swap folders of kit versions before the marker
            stale = not _alive(int(legacy.group(1)))
        else:
            continue
        if stale:
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(name)
    return removed


def _publish(build: Path, final: Path) -> None:
    """Point ``final`` at ``build`` with one rename of a new link over the old one."""
    # a name of its own per call: two publishers of one build must not share the link
    link = final.with_name(f"{build.name}.{secrets.token_hex(4)}.link")
    os.symlink(build.name, link)
    try:
        os.replace(link, final)
    except BaseException:
        link.unlink(missing_ok=True)
        raise
    try:  # make the new entry durable before the old build goes
        fd = os.open(final.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass


#: seconds the replaced build stays after the swap, for readers already inside it
_GRACE = 0.5


def _swap_in(build: Path, final: Path) -> None:
    """Publish ``build`` as ``final`` atomically, then remove the build it replaces.

    Call it holding the folder's lock. A reader opening a path under ``final``
    gets the whole previous build or the whole new one.
    """
    previous = None
    if final.is_symlink():
        previous = final.parent / os.readlink(final)
    # before the swap, so no reader sees it; a build without it is removed only by a
    # render of its own folder (under the lock), so none can take it before the swap
    (build / _STAGING).unlink(missing_ok=True)
    _publish(build, final)
    if previous is not None and previous != build and _is_build(previous):
        try:
            # a reader that resolved the link just before the swap (a listing, a page
            # opening its neighbour) finishes in the old build first
            time.sleep(_GRACE)
        finally:
            # also when Ctrl-C or SIGTERM ends the grace period: the new report is in
            # place, and the build it replaced is not left behind for the next render
            shutil.rmtree(previous, ignore_errors=True)


def _new_build(out_dir: Path, folder: str) -> Path:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    build = out_dir / f".{folder}.{stamp}-{os.getpid()}-{secrets.token_hex(3)}"
    build.mkdir()
    (build / MARKER).write_text(_MARKER_TEXT, encoding="utf-8")
    (build / _STAGING).write_text(json.dumps(_whoami()), encoding="utf-8")
    return build


def _keep_failed(out_dir: Path, folder: str, notebooks: list[Path]) -> Path | None:
    """Keep the failed workbooks' executed notebooks (only those) for debugging.

    ``<out>/.failed/<folder>/notebooks/<name>.ipynb``, replacing the previous
    failure of that folder: bounded to one failure per report folder.
    """
    kept = out_dir / ".failed" / folder
    try:
        if kept.exists() or kept.is_symlink():
            if not _is_build(kept):
                return None  # not the kit's: leave it alone
            shutil.rmtree(kept)
        (kept / "notebooks").mkdir(parents=True)
        (kept / MARKER).write_text(_MARKER_TEXT, encoding="utf-8")
        for notebook in notebooks:
            if notebook.is_file():
                shutil.copy2(notebook, kept / "notebooks" / notebook.name)
    except OSError:
        shutil.rmtree(kept, ignore_errors=True)  # best effort: never fill a full disk
        return None
    return kept


def _forget_failed(out_dir: Path, folder: str) -> None:
    kept = out_dir / ".failed" / folder
    if _is_build(kept):
        shutil.rmtree(kept, ignore_errors=True)
    with suppress(OSError):
        (out_dir / ".failed").rmdir()


class _Cancelled(Exception):
    """A workbook stopped because the render was interrupted."""


@dataclass
class _Run:
    """One render's workers: the kernels they started, and whether to stop."""

    cancelled: threading.Event = field(default_factory=threading.Event)
    kernels: list[AsyncKernelManager] = field(default_factory=list)

    def check(self) -> None:
        if self.cancelled.is_set():
            raise _Cancelled

    def kill_kernels(self) -> None:
        """Kill every kernel process of this render; nbclient then sees a dead kernel."""
        for km in list(self.kernels):
            process = getattr(getattr(km, "provisioner", None), "process", None)
            if process is not None and process.poll() is None:
                with suppress(OSError):
                    process.kill()


#: the folder in a build that holds the report's validated snapshot while it renders
SNAPSHOT = ".snapshot"


def _refuse_passwords(parameters: Mapping[str, Any]) -> None:
    """A parameter holding a password (not a ``${VAR}`` reference) is a ParameterError."""
    for name, value in parameters.items():
        if isinstance(value, str) and contains_secret(value):
            raise ParameterError(
                f"parameter {name} holds a password ({redact(value)}); papermill would write it "
                "into every executed notebook; fix: write a reference such as ${PGPASSWORD} in "
                "its place and set that environment variable (docs/sources.md)"
            )


def _shown(values: Mapping[str, Any], data: FunnelData | None) -> dict[str, Any]:
    """A workbook's parameters as its executed notebook shows them.

    ``data_dir``: the data location's description (``data.source`` when the
    render reads a snapshot; else the folder's name or the redacted URI):
    never the snapshot's path or an absolute local path. ``targets_file``:
    its file name.
    """
    shown = dict(values)
    if data is not None:
        shown["data_dir"] = data.source
    elif "data_dir" in shown:
        shown["data_dir"] = display_location(shown["data_dir"])
    for name in ("targets_file", "mapping"):
        if shown.get(name):
            shown[name] = display_location(str(shown[name]))
    return shown


def display_location(location: str) -> str:
    """A data location as a page may show it: a URI redacted, a path by its last part."""
    text = str(location)
    if "://" in text:
        return redact(text)
    return Path(text).name or text


def show_parameters(notebook: Path, shown: Mapping[str, Any]) -> None:
    """Rewrite an executed notebook's injected parameters (cell and metadata) to ``shown``."""
    import nbformat
    from papermill.translators import translate_parameters

    nb = nbformat.read(notebook, as_version=4)
    language = nb.metadata.get("kernelspec", {}).get("language", "python")
    for cell in nb.cells:
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            cell.source = translate_parameters("python3", language, dict(shown), "Parameters")
    if "parameters" in nb.metadata.get("papermill", {}):
        nb.metadata.papermill.parameters = dict(shown)
    tmp = notebook.with_name(f".{notebook.name}.tmp")
    nbformat.write(nb, tmp)
    os.replace(tmp, notebook)


#: the render a worker thread works for (its kernel managers register there)
_WORKER = threading.local()

#: seconds an interrupted render waits for its workers after killing their kernels
_STOP_TIMEOUT = 10.0


def render_report(
    *,
    quarter: str,
    parameters: Mapping[str, Any],
    out_dir: str | Path,
    workbooks: Mapping[str, str] | None = None,
    notebook_dir: Path = NOTEBOOK_DIR,
    progress: Callable[[str], None] | None = None,
    images: bool = True,
    headline: Headline | None = None,
    jobs: int | None = None,
    wait: float = 600.0,
    data: FunnelData | None = None,
) -> ReportResult:
    """Execute each workbook with ``parameters`` and publish ``<out_dir>/<folder>/``.

    ``<folder>`` is :func:`report_folder` of the quarter and the ``segment``
    and ``region`` parameters: a filtered render never replaces the company
    report. Each workbook receives the parameters it declares; a parameter that
    no workbook declares is an error. ``quarter`` must be a resolved label.
    ``images``: also write each chart as SVG and PNG under ``charts/`` (slides).
    ``headline``: the as-of instant and shared scorecard for ``index.html``, the
    landing page listing each page with its findings (without it, no index).
    ``jobs``: workbooks run at once (default: one per core).
    ``wait``: seconds to wait for another render of the same folder before
    refusing with :class:`ReportBusyError` (0: refuse at once).
    ``data``: the report's data, read and validated once (un-cut, unfiltered,
    with any separate targets already in it): written as a snapshot that
    every workbook reads as its ``data_dir`` (``targets_file`` is then not
    passed on), and removed before publishing. Without it, each workbook
    reads ``parameters['data_dir']`` itself. A parameter holding a password
    (a URI with one written in, rather than a ``${VAR}`` reference) is a
    :class:`ParameterError`: papermill writes parameters into every notebook.

    Raises :class:`RenderError` (a workbook failed), :class:`OutputError` (the
    output folder cannot be written, or holds a folder the kit did not write),
    :class:`ReportBusyError`; on any of them, and on KeyboardInterrupt, the
    previous report is untouched and the partial build removed.
    """
    workbooks = dict(workbooks or WORKBOOKS)
    # absolute: papermill runs each notebook with the working directory changed, and
    # threads share the process's; a relative output path would then point elsewhere
    out_dir = Path(os.path.abspath(out_dir))
    notebook_dir = Path(notebook_dir).resolve()
    paths = {name: notebook_dir / f"{name}.ipynb" for name in workbooks}
    declared = {name: _declared(path) for name, path in paths.items()}
    every = set().union(*declared.values())
    unknown = sorted(set(parameters) - every)
    if unknown:
        raise ParameterError(
            f"unknown parameter{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
            f"the workbooks take: {', '.join(sorted(every))}"
        )
    checked = {
        name: check_parameters(
            paths[name], {k: v for k, v in parameters.items() if k in declared[name]}
        )
        for name in workbooks
    }
    _refuse_passwords(parameters)
    shown = {name: _shown(values, data) for name, values in checked.items()}
    segment, region = parameters.get("segment"), parameters.get("region")
    folder = report_folder(quarter, segment=segment, region=region)
    label = filter_label(segment=segment, region=region)
    _prepare_out(out_dir)
    with _environment_errors(out_dir), _folder_lock(out_dir, folder, wait=wait, progress=progress):
        current = _current_build(out_dir, folder)
        removed = _remove_stale(out_dir, folder, current)
        if removed and progress:
            progress(f"removed {len(removed)} folder(s) left by interrupted renders")
        build = _new_build(out_dir, folder)
        final = out_dir / folder
        try:
            if data is not None:
                snapshot = write_snapshot(data, build / SNAPSHOT)
                # the snapshot holds the data as the kit's tables: read as it is (a mapping
                # and a separate targets file were applied when it was written)
                checked = {
                    name: {
                        **{k: v for k, v in values.items() if k != "targets_file"},
                        "data_dir": str(snapshot),
                        **({"mapping": ""} if "mapping" in values else {}),
                    }
                    for name, values in checked.items()
                }
            result = _render_into(
                build,
                final,
                quarter=quarter,
                label=label,
                workbooks=workbooks,
                paths=paths,
                checked=checked,
                shown=shown,
                notebook_dir=notebook_dir,
                progress=progress,
                images=images,
                headline=headline,
                jobs=jobs,
            )
            # the CRM rows stay out of the published report (docs/sources.md)
            shutil.rmtree(build / SNAPSHOT, ignore_errors=True)
            # again: something of the user's may have appeared there while rendering
            _current_build(out_dir, folder)
            try:
                _swap_in(build, final)
            except KeyboardInterrupt:
                if not (final.is_symlink() and os.readlink(final) == build.name):
                    raise
                # stopped after the new report was in place: the render is done (_swap_in
                # removed the build it replaced, or the next render does if the signal
                # came during that removal)
                if progress:
                    progress("interrupted after the new report was in place")
        except RenderError as exc:
            failed = [build / "notebooks" / f"{name}.ipynb" for name in exc.workbooks]
            kept = _keep_failed(out_dir, folder, failed)
            what = "notebook is" if len(failed) == 1 else "notebooks are"
            where = (
                f"the failed {what} kept in {kept / 'notebooks'}"
                if kept
                else f"the failed {what} not kept (no room, or .failed/ is not the kit's)"
            )
            raise RenderError(
                f"{exc}\nThe previous report, if any, is untouched; {where}.",
                workbooks=exc.workbooks,
            ) from None
        finally:
            # published or not, decided by the link itself: a signal can arrive between
            # the rename and any bookkeeping after it
            final_target = os.readlink(final) if final.is_symlink() else None
            if final_target != build.name:
                shutil.rmtree(build, ignore_errors=True)
        _forget_failed(out_dir, folder)
    return result


def _render_into(
    build: Path,
    final: Path,
    *,
    quarter: str,
    label: str,
    workbooks: dict[str, str],
    paths: dict[str, Path],
    checked: dict[str, dict[str, Any]],
    shown: dict[str, dict[str, Any]],
    notebook_dir: Path,
    progress: Callable[[str], None] | None,
    images: bool,
    headline: Headline | None,
    jobs: int | None,
) -> ReportResult:
    """Write every page of the report into ``build``; return paths as under ``final``."""
    from alignment_lib.export import export_html
    from alignment_lib.index_page import PageLink, build_index, findings_of
    from alignment_lib.slides import export_chart_images

    (build / "notebooks").mkdir()
    (build / "analyst").mkdir()
    suffix = f" · {label}" if label else ""
    run = _Run()

    def one(name: str) -> str:
        _WORKER.run = run
        run.check()
        started = time.perf_counter()
        executed = build / "notebooks" / f"{name}.ipynb"
        try:
            _execute(paths[name], executed, checked[name], notebook_dir, name, run)
        except BaseException:
            # the failed notebook is kept for the reader too: show what they may see, but
            # never let that hide the failure (a full disk leaves it truncated)
            if executed.is_file():
                with suppress(Exception):
                    show_parameters(executed, shown[name])
            raise
        finally:
            # papermill drives the kernel through an event loop it creates for
            # this worker thread and never closes; close it (and its sockets).
            ensure_event_loop().close()
            _WORKER.run = None
        show_parameters(executed, shown[name])
        title = workbooks[name]
        run.check()
        export_html(
            executed,
            build / f"{name}.html",
            variant="executive",
            title=f"{title} · {quarter}{suffix}",
        )
        run.check()
        export_html(
            executed,
            build / "analyst" / f"{name}.html",
            variant="analyst",
            title=f"{title} · {quarter}{suffix} (analyst)",
        )
        if images:
            run.check()
            export_chart_images(executed, build / "charts", prefix=name)
        return f"{name} done in {time.perf_counter() - started:.1f}s"

    # Kernels are separate processes: threads here only wait on them and on
    # nbconvert, so one worker per core keeps every core busy in one process.
    workers = max(1, min(jobs or os.cpu_count() or 1, len(workbooks)))
    if progress:
        progress(f"running {len(workbooks)} workbook(s), {workers} at a time")
    errors: dict[str, BaseException] = {}
    # papermill changes the process's working directory around each run and
    # restores what it saw; overlapping runs in threads can leave the notebook
    # folder as the working directory, so put back the caller's
    caller_cwd = os.getcwd()
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="workbook")
    futures: dict[Future[str], str] = {}
    try:
        futures = {pool.submit(one, name): name for name in workbooks}
        pending, done = set(futures), 0
        while pending:
            # short waits, not one long one: a signal delivered to a worker thread
            # runs its Python handler only when the main thread next wakes up
            finished, pending = wait_for(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            for future in finished:
                done += 1
                try:
                    message = future.result()
                except Exception as exc:  # report every workbook, then fail
                    errors[futures[future]] = exc
                    message = f"{futures[future]} FAILED"
                if progress:
                    progress(f"[{done}/{len(workbooks)}] {message}")
    except BaseException:
        # Ctrl-C or SIGTERM: no workbook starts, running kernels are killed, and the
        # workers are given a few seconds (the exports in flight) before we go on
        _stop(run, futures)
        raise
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        os.chdir(caller_cwd)
    if errors:
        # a full disk explains every other failure: say that first
        for err in errors.values():
            if isinstance(err, OSError) and err.errno in _FULL:
                raise err
        failed = [name for name, exc in errors.items() if isinstance(exc, RenderError)]
        if failed:
            message = "\n".join(str(errors[name]) for name in failed)
            raise RenderError(message, workbooks=tuple(failed))
        raise next(iter(errors.values()))
    result = ReportResult(final, {}, {}, {})
    for name in workbooks:
        result.executive[name] = final / f"{name}.html"
        result.analyst[name] = final / "analyst" / f"{name}.html"
        result.notebooks[name] = final / "notebooks" / f"{name}.ipynb"
    if headline is not None:
        links = [
            PageLink(
                title,
                f"{name}.html",
                f"analyst/{name}.html",
                findings_of(build / "notebooks" / f"{name}.ipynb"),
            )
            for name, title in workbooks.items()
        ]
        page = build_index(
            quarter=quarter,
            as_of=headline.as_of,
            scorecard=headline.scorecard,
            pages=links,
            rendered_at=dt.datetime.now(dt.UTC),
            filters=label,
            currency=headline.currency,
            targets_note=headline.targets_note,
        )
        (build / "index.html").write_text(page, encoding="utf-8")
        result = replace(result, index=final / "index.html")
    for name in workbooks:
        # papermill's output opens untrusted in JupyterLab; these are the kit's own
        # (the signature is of the content, so signing before the swap holds after it)
        trust_notebook(build / "notebooks" / f"{name}.ipynb")
    return result


def _stop(run: _Run, futures: Mapping[Future[str], str]) -> None:
    run.cancelled.set()
    for future in futures:
        future.cancel()
    deadline = time.monotonic() + _STOP_TIMEOUT
    while time.monotonic() < deadline and not all(f.done() for f in futures):
        run.kill_kernels()
        time.sleep(0.05)
    run.kill_kernels()


_IPC_DIR: Path | None = None


def _ipc_dir() -> Path:
    global _IPC_DIR
    if _IPC_DIR is None:
        _IPC_DIR = Path(tempfile.mkdtemp(prefix="alignment-kernels-"))
        atexit.register(shutil.rmtree, _IPC_DIR, ignore_errors=True)
    return _IPC_DIR


class _LocalKernelManager(AsyncKernelManager):
    """Kernels talk over local IPC sockets, not plaintext TCP on loopback.

    Each kernel gets its own socket path: jupyter_client's default ("kernel-ipc"
    in the working directory) is shared, so kernels started at the same time in
    one folder would bind each other's sockets. Each manager registers with the
    render of its worker thread, which kills the kernel if the render is
    interrupted.
    """

    transport = "ipc"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        run = getattr(_WORKER, "run", None)
        if run is not None:
            run.check()
            run.kernels.append(self)

    def _ip_default(self) -> str:
        return str(_ipc_dir() / f"kernel-{uuid.uuid4().hex}")


def _execute(
    source: Path, target: Path, values: dict[str, Any], cwd: Path, name: str, run: _Run
) -> None:
    from nbclient.exceptions import DeadKernelError

    try:
        pm.execute_notebook(
            str(source),
            str(target),
            parameters=values,
            kernel_name="python3",
            cwd=str(cwd),
            progress_bar=False,
            log_output=False,
            execution_timeout=900,
            kernel_manager_class=_LocalKernelManager,
        )
    except pm.PapermillExecutionError as exc:
        run.check()
        first_line = exc.source.strip().splitlines()[0] if exc.source.strip() else ""
        evalue = str(exc.evalue).strip()
        raise RenderError(
            f"workbook '{name}' failed in cell {exc.exec_count or exc.cell_index} "
            f"(`{first_line[:80]}`):\n{exc.ename}: {evalue}",
            workbooks=(name,),
        ) from None
    except (DeadKernelError, RuntimeError) as exc:
        run.check()  # killed by us: the render was interrupted
        if isinstance(exc, RuntimeError) and "died" not in str(exc):
            raise
        raise RenderError(
            f"workbook '{name}' failed: its kernel died ({exc}); the machine may be out of "
            "memory; fix: close other programs or render fewer workbooks at once",
            workbooks=(name,),
        ) from None
