"""Rendering the report bundle: execute workbooks, export HTML, swap in atomically.

A render writes into a temporary folder beside the target and replaces
``<out>/<quarter>/`` only when every workbook succeeded. A failure leaves the
previous report byte-for-byte as it was, keeps the failed executed notebook
under ``<out>/.failed/<quarter>/`` for debugging, and raises
:class:`RenderError` naming the workbook, the cell and the error.
"""

from __future__ import annotations

import atexit
import datetime as dt
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import papermill as pm
import polars as pl
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import ensure_event_loop

from alignment_lib.exceptions import ParameterError, RenderError
from alignment_lib.lab import trust_notebook

__all__ = [
    "NOTEBOOK_DIR",
    "WORKBOOKS",
    "Headline",
    "ReportResult",
    "check_parameters",
    "render_report",
]

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"

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
    """What the landing page shows above the links: the shared scorecard."""

    as_of: dt.datetime
    scorecard: pl.DataFrame


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
) -> ReportResult:
    """Execute each workbook with ``parameters`` and write ``<out_dir>/<quarter>/``.

    Each workbook receives the parameters it declares; a parameter that no
    workbook declares is an error. ``quarter`` must be a resolved label.
    ``images``: also write each chart as SVG and PNG under ``charts/`` (slides).
    ``headline``: the as-of instant and shared scorecard for ``index.html``, the
    landing page listing each page with its findings (without it, no index).
    ``jobs``: workbooks run at once (default: one per core).
    """
    from alignment_lib.export import export_html
    from alignment_lib.index_page import PageLink, build_index, findings_of
    from alignment_lib.slides import export_chart_images

    workbooks = dict(workbooks or WORKBOOKS)
    # absolute: papermill runs each notebook with the working directory changed, and
    # threads share the process's; a relative output path would then point elsewhere
    out_dir = Path(out_dir).resolve()
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
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = out_dir / f".tmp-{quarter}-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "notebooks").mkdir(parents=True)
    (staging / "analyst").mkdir()
    result = ReportResult(out_dir / quarter, {}, {}, {})
    try:
        checked = {
            name: check_parameters(
                paths[name], {k: v for k, v in parameters.items() if k in declared[name]}
            )
            for name in workbooks
        }

        def one(name: str) -> str:
            started = time.perf_counter()
            executed = staging / "notebooks" / f"{name}.ipynb"
            try:
                _execute(paths[name], executed, checked[name], notebook_dir, name)
            finally:
                # papermill drives the kernel through an event loop it creates for
                # this worker thread and never closes; close it (and its sockets).
                ensure_event_loop().close()
            title = workbooks[name]
            export_html(
                executed,
                staging / f"{name}.html",
                variant="executive",
                title=f"{title} · {quarter}",
            )
            export_html(
                executed,
                staging / "analyst" / f"{name}.html",
                variant="analyst",
                title=f"{title} · {quarter} (analyst)",
            )
            if images:
                export_chart_images(executed, staging / "charts", prefix=name)
            return f"{name} done in {time.perf_counter() - started:.1f}s"

        # Kernels are separate processes: threads here only wait on them and on
        # nbconvert, so one worker per core keeps every core busy in one process.
        workers = max(1, min(jobs or os.cpu_count() or 1, len(workbooks)))
        if progress:
            progress(f"running {len(workbooks)} workbook(s), {workers} at a time")
        errors: list[BaseException] = []
        # papermill changes the process's working directory around each run and
        # restores what it saw; overlapping runs in threads can leave the notebook
        # folder as the working directory, so put back the caller's
        caller_cwd = os.getcwd()
        try:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                futures = {pool.submit(one, name): name for name in workbooks}
                for done, future in enumerate(as_completed(futures), start=1):
                    try:
                        message = future.result()
                    except BaseException as exc:  # report every workbook, then fail
                        errors.append(exc)
                        message = f"{futures[future]} FAILED"
                    if progress:
                        progress(f"[{done}/{len(workbooks)}] {message}")
        finally:
            os.chdir(caller_cwd)
        if errors:
            raise errors[0]
        for name in workbooks:
            result.executive[name] = result.folder / f"{name}.html"
            result.analyst[name] = result.folder / "analyst" / f"{name}.html"
            result.notebooks[name] = result.folder / "notebooks" / f"{name}.ipynb"
        if headline is not None:
            links = [
                PageLink(
                    title,
                    f"{name}.html",
                    f"analyst/{name}.html",
                    findings_of(staging / "notebooks" / f"{name}.ipynb"),
                )
                for name, title in workbooks.items()
            ]
            page = build_index(
                quarter=quarter,
                as_of=headline.as_of,
                scorecard=headline.scorecard,
                pages=links,
                rendered_at=dt.datetime.now(dt.UTC),
            )
            (staging / "index.html").write_text(page, encoding="utf-8")
            result = replace(result, index=result.folder / "index.html")
    except BaseException:
        failed = out_dir / ".failed" / quarter
        shutil.rmtree(failed, ignore_errors=True)
        failed.parent.mkdir(parents=True, exist_ok=True)
        staging.rename(failed)
        raise
    _swap_in(staging, result.folder)
    for notebook in result.notebooks.values():
        # papermill's output opens untrusted in JupyterLab; these are the kit's own
        trust_notebook(notebook)
    return result


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
    one folder would bind each other's sockets.
    """

    transport = "ipc"  # type: ignore[assignment]

    def _ip_default(self) -> str:
        return str(_ipc_dir() / f"kernel-{uuid.uuid4().hex}")


def _execute(source: Path, target: Path, values: dict[str, Any], cwd: Path, name: str) -> None:
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
        first_line = exc.source.strip().splitlines()[0] if exc.source.strip() else ""
        evalue = str(exc.evalue).strip()
        raise RenderError(
            f"workbook '{name}' failed in cell {exc.exec_count or exc.cell_index} "
            f"(`{first_line[:80]}`):\n{exc.ename}: {evalue}\n"
            "The previous report, if any, is untouched; the failed notebook is kept under "
            "the output folder's .failed/ directory."
        ) from None


def _swap_in(staging: Path, final: Path) -> None:
    """Replace ``final`` with ``staging`` so a reader never sees a half-written report."""
    old = final.with_name(f".old-{final.name}-{os.getpid()}")
    if final.exists():
        final.rename(old)
    staging.rename(final)
    shutil.rmtree(old, ignore_errors=True)
