"""Renders that meet a hostile environment: signals, kills, a full disk, a busy folder.

Fast tests drive the output-folder machinery of alignment_lib.render directly
(preflight, lock, marker, stale builds, the swap). The slow ones render the
sample for real in a subprocess, through the command line, with only the
data_health workbook and no images (the smallest render that runs a kernel,
exports pages and swaps), and check what a user would see: the exit code,
a one-line message, and the report folder (byte-identical to the previous one,
or a whole new one that differs only in the index's "Rendered at" line).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from alignment_lib.cli import main
from alignment_lib.exceptions import OutputError, ReportBusyError
from alignment_lib.render import (
    _STAGING,
    MARKER,
    _folder_lock,
    _new_build,
    _publish,
    _remove_stale,
    _swap_in,
    render_report,
)

REPO = Path(__file__).resolve().parents[1]
QUARTER = "FY2026-Q3"
ONE = {"data_health": "Data health"}
CLI = [sys.executable, "-m", "alignment_lib.cli", "report", "--quarter", QUARTER]
SMALL = ["--workbook", "data_health", "--no-images"]


def _render_fast(out: Path, **options: object) -> None:
    """render_report as far as the output checks; the parameters are the workbook's."""
    render_report(
        quarter=QUARTER, parameters={"quarter": QUARTER}, out_dir=out, workbooks=ONE, **options
    )


# ---------------------------------------------------------------- output folder


def test_out_is_a_file(tmp_path: Path) -> None:
    target = tmp_path / "reports"
    target.write_text("not a folder")
    with pytest.raises(OutputError) as info:
        _render_fast(target)
    message = str(info.value)
    assert f"{target} is a file, not a folder" in message and "fix:" in message
    assert "\n" not in message
    assert target.read_text() == "not a folder"


def test_out_under_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError, match=f"{blocker} is a file, not a folder"):
        _render_fast(blocker / "reports")


def _mount_tmpfs(where: Path, options: str) -> None:
    where.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip() or 'not root'})")


@contextlib.contextmanager
def tmpfs(where: Path, options: str) -> Iterator[Path]:
    """A small tmpfs at ``where`` (root only: CI runs as root; skipped elsewhere)."""
    if shutil.which("mount") is None or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root and mount(8)")
    _mount_tmpfs(where, options)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_out_on_read_only_file_system(tmp_path: Path) -> None:
    # root ignores permission bits: a read-only mount is a real "cannot write"
    with tmpfs(tmp_path / "ro", "ro,size=1m") as ro:
        with pytest.raises(OutputError) as info:
            _render_fast(ro / "reports")
        assert "read-only file system" in str(info.value)
        assert "fix: pass --out a writable folder" in str(info.value)


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores permission bits (see the ro test)")
def test_out_without_permission(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        with pytest.raises(OutputError, match="permission denied"):
            _render_fast(locked / "reports")
    finally:
        locked.chmod(0o700)


def test_cli_output_error_is_one_line_exit_6(tmp_path: Path, capsys) -> None:
    target = tmp_path / "reports"
    target.write_text("x")
    assert main(["report", "--out", str(target), *SMALL]) == 6
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "fix:" in lines[0]
    assert "bug in the kit" not in err and "Traceback" not in err


# ---------------------------------------------------------------- marker


def test_user_folder_is_refused_and_untouched(tmp_path: Path) -> None:
    mine = tmp_path / QUARTER
    mine.mkdir()
    (mine / "notes.txt").write_text("my own notes")
    with pytest.raises(OutputError) as info:
        _render_fast(tmp_path)
    message = str(info.value)
    assert f"{mine} is a folder, not a report of the kit" in message
    assert f"fix: move it away (mv {mine} {mine}.mine)" in message
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]
    assert (mine / "notes.txt").read_text() == "my own notes"
    # and nothing of a build was left beside it
    assert sorted(p.name for p in tmp_path.iterdir()) == [f".{QUARTER}.lock", QUARTER]


def test_user_file_and_foreign_link_are_refused(tmp_path: Path) -> None:
    (tmp_path / QUARTER).write_text("a file of mine")
    with pytest.raises(OutputError, match="is a file, not a report of the kit"):
        _render_fast(tmp_path)
    assert (tmp_path / QUARTER).read_text() == "a file of mine"
    (tmp_path / QUARTER).unlink()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / QUARTER).symlink_to(elsewhere)
    with pytest.raises(OutputError, match=r"symbolic link to .* that the kit did not make"):
        _render_fast(tmp_path)
    assert (tmp_path / QUARTER).resolve() == elsewhere


# ---------------------------------------------------------------- lock


def _hold_lock(out: Path, folder: str, pid: int) -> int:
    fd = os.open(out / f".{folder}.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.write(fd, json.dumps({"pid": pid, "host": "h", "started_at": "then"}).encode())
    return fd


def test_second_render_of_a_folder_refuses_naming_the_pid(tmp_path: Path) -> None:
    fd = _hold_lock(tmp_path, QUARTER, 4242)
    try:
        started = time.monotonic()
        with pytest.raises(ReportBusyError) as info:
            _render_fast(tmp_path, wait=0.5)
        assert 0.5 <= time.monotonic() - started < 5
        message = str(info.value)
        assert "the render with pid 4242 on h" in message
        assert f"is writing {tmp_path / QUARTER}" in message and "fix:" in message
    finally:
        os.close(fd)
    assert ReportBusyError.exit_code == 7


def test_lock_is_per_folder_and_released(tmp_path: Path) -> None:
    with _folder_lock(tmp_path, QUARTER, wait=0, progress=None):
        # another folder is free; the same folder is busy, even from this process
        with _folder_lock(tmp_path, f"{QUARTER}-region-EMEA", wait=0, progress=None):
            pass
        busy = pytest.raises(ReportBusyError, match=f"pid {os.getpid()}")
        with busy, _folder_lock(tmp_path, QUARTER, wait=0, progress=None):
            pass
    with _folder_lock(tmp_path, QUARTER, wait=0, progress=None):
        pass


def test_waiting_render_gets_the_lock_when_released(tmp_path: Path) -> None:
    fd = _hold_lock(tmp_path, QUARTER, 4242)
    threading.Timer(0.5, os.close, (fd,)).start()
    said: list[str] = []
    started = time.monotonic()
    with _folder_lock(tmp_path, QUARTER, wait=10, progress=said.append):
        waited = time.monotonic() - started
    assert 0.4 < waited < 5
    assert said == [
        f"waiting up to 10s for the render with pid 4242 on h (started then) to finish {QUARTER}"
    ]


# ---------------------------------------------------------------- stale builds


def _fake_build(out: Path, name: str, *, pid: int | None, marker: bool = True) -> Path:
    build = out / name
    build.mkdir()
    (build / "index.html").write_text(name)
    if marker:
        (build / MARKER).write_text("kit")
    if pid is not None:
        (build / _STAGING).write_text(json.dumps({"pid": pid, "host": os.uname().nodename}))
    return build


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_stale_builds_are_removed_and_nothing_else(tmp_path: Path) -> None:
    dead, me = _dead_pid(), os.getpid()
    out = tmp_path
    current = _fake_build(out, f".{QUARTER}.20260101T000000-{me}-aaaaaa", pid=None)
    (out / QUARTER).symlink_to(current.name)
    gone = [
        # this folder's: killed renders (even with a live pid: the lock says they are dead)
        _fake_build(out, f".{QUARTER}.20260102T000000-{dead}-bbbbbb", pid=dead),
        _fake_build(out, f".{QUARTER}.20260103T000000-{me}-cccccc", pid=me),
        # another folder's, written by a process that is gone
        _fake_build(out, f".FY2026-Q2.20260104T000000-{dead}-dddddd", pid=dead),
        # an earlier kit version's staging folder of a dead render
        _fake_build(out, f".tmp-{QUARTER}-{dead}", pid=None, marker=False),
    ]
    (out / f".{QUARTER}.20260105T000000-{dead}-eeeeee.link").symlink_to(current.name)
    kept = [
        current,
        # no marker: not the kit's
        _fake_build(out, f".{QUARTER}.20260106T000000-{dead}-ffffff", pid=dead, marker=False),
        # another folder's, being written by a live process
        _fake_build(out, f".FY2026-Q2.20260107T000000-{me}-abcdef", pid=me),
        # another folder's published build (its writer is long gone)
        _fake_build(out, f".FY2026-Q1.20260108T000000-{dead}-fedcba", pid=dead),
    ]
    (out / "FY2026-Q1").symlink_to(kept[-1].name)
    legacy_live = _fake_build(out, f".tmp-FY2026-Q1-{me}", pid=None, marker=False)
    removed = _remove_stale(out, QUARTER, current)
    assert sorted(removed) == sorted(
        [p.name for p in gone] + [f".{QUARTER}.20260105T000000-{dead}-eeeeee.link"]
    )
    for path in gone:
        assert not path.exists()
    for path in [*kept, legacy_live]:
        assert (path / "index.html").read_text() == path.name
    assert (out / QUARTER / "index.html").read_text() == current.name


# ---------------------------------------------------------------- the swap


def _write_build(out: Path, folder: str, token: str) -> Path:
    build = _new_build(out, folder)
    for name in ("index.html", "a.html", "analyst/a.html"):
        (build / name).parent.mkdir(parents=True, exist_ok=True)
        (build / name).write_text(token * 200)
    return build


@pytest.mark.slow
def test_swap_stress_reader_always_sees_a_whole_folder(tmp_path: Path) -> None:
    """Many renders swapping one folder (each under the lock, as render_report does)
    while readers read it: every read finds the whole folder and whole files."""
    out, folder = tmp_path, QUARTER
    final = out / folder
    with _folder_lock(out, folder, wait=0, progress=None):
        _swap_in(_write_build(out, folder, "0"), final)
    stop = threading.Event()
    problems: list[str] = []
    reads = [0]

    def reader() -> None:
        while not stop.is_set():
            try:
                names = sorted(os.listdir(final))
                texts = [(final / n).read_text() for n in ("index.html", "a.html")]
            except OSError as exc:
                problems.append(f"read failed: {exc!r}")
                continue
            if names != sorted([MARKER, "a.html", "analyst", "index.html"]):
                problems.append(f"listing {names}")
            # each file whole and of one build (two opens may meet two builds: each
            # open resolves the link anew, and a newer build is a whole report too)
            problems.extend(
                f"partial {t[:20]!r}" for t in texts if len(t) != 200 or len(set(t)) != 1
            )
            reads[0] += 1

    def writer(k: int) -> None:
        for j in range(2):
            with _folder_lock(out, folder, wait=60, progress=None):
                _swap_in(
                    _write_build(out, folder, "abcdefghij"[j % 10] if k % 2 else str(j)), final
                )

    readers = [threading.Thread(target=reader) for _ in range(3)]
    writers = [threading.Thread(target=writer, args=(k,)) for k in range(6)]
    for t in readers + writers:
        t.start()
    for t in writers:
        t.join()
    stop.set()
    for t in readers:
        t.join()
    assert problems == []
    assert reads[0] > 0
    # one build left, the one the folder links to; no link or staging file behind
    left = sorted(p.name for p in out.iterdir())
    assert left == sorted([f".{folder}.lock", folder, os.readlink(final)])
    assert not (final / _STAGING).exists()


def test_concurrent_publishes_never_leave_the_folder_missing(tmp_path: Path) -> None:
    """The swap itself (no lock, no cleanup): 400 renames of new links over one name
    from many threads; the name always resolves to a whole build."""
    out, folder = tmp_path, QUARTER
    final = out / folder
    builds = [_write_build(out, folder, str(i % 10)) for i in range(40)]
    _publish(builds[0], final)
    stop = threading.Event()
    missing: list[str] = []

    def reader() -> None:
        while not stop.is_set():
            try:
                (final / "index.html").read_text()
            except OSError as exc:
                missing.append(repr(exc))

    def publisher(k: int) -> None:
        for i in range(50):
            _publish(builds[(k * 7 + i) % len(builds)], final)

    threads = [threading.Thread(target=reader) for _ in range(2)]
    pubs = [threading.Thread(target=publisher, args=(k,)) for k in range(8)]
    for t in threads + pubs:
        t.start()
    for t in pubs:
        t.join()
    stop.set()
    for t in threads:
        t.join()
    assert missing == []
    assert final.is_symlink() and (final / MARKER).is_file()


# ---------------------------------------------------------------- real renders


def _untimed(notebook: bytes) -> bytes:
    """An executed notebook's sources and outputs, without what differs on every run:
    papermill's run times, the injected cell's random id, and the object addresses in
    text/plain reprs (``<... object at 0x7f...>``)."""
    cells = [(c["cell_type"], c["source"], c.get("outputs")) for c in json.loads(notebook)["cells"]]
    return re.sub(rb"0x[0-9a-fA-F]{6,}", b"0x-", json.dumps(cells).encode())


def _snapshot(folder: Path) -> dict[str, bytes]:
    """Every file of a report folder; the index's render time and run times blanked."""
    files = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            if path.name == "index.html":
                data = re.sub(rb"Rendered at [^<]*", b"Rendered at -", data)
            elif path.suffix == ".ipynb":
                data = _untimed(data)
            files[path.relative_to(folder).as_posix()] = data
    return files


def _exact(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _start(out: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*CLI, "--out", str(out), *SMALL, *extra],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _kernels_of(pid: int) -> list[int]:
    """Kernel processes started by ``pid`` (jupyter_client sets JPY_PARENT_PID)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            env = (proc / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if f"JPY_PARENT_PID={pid}".encode() in env:
            found.append(int(proc.name))
    return found


def _reap_kernels(pid: int, timeout: float = 10.0) -> list[int]:
    """Wait for the kernels of a dead render to go; kill (and return) any left."""
    deadline = time.monotonic() + timeout
    while (left := _kernels_of(pid)) and time.monotonic() < deadline:
        time.sleep(0.2)
    for kernel in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(kernel, signal.SIGKILL)
    return left


def _builds(out: Path) -> list[str]:
    """Builds (and half-made links) of the quarter's folder; not its lock file."""
    return sorted(
        p.name
        for p in out.iterdir()
        if p.name.startswith(f".{QUARTER}.") and p.name != f".{QUARTER}.lock"
    )


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float]:
    """One clean small render (the out folder) and how long it took."""
    out = tmp_path_factory.mktemp("baseline")
    started = time.monotonic()
    done = subprocess.run(
        [*CLI, "--out", str(out), *SMALL], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(out / QUARTER / "index.html")
    return out, time.monotonic() - started


def _copy(baseline: Path, to: Path) -> Path:
    shutil.copytree(baseline, to, symlinks=True)
    return to


def _check_whole(folder: Path, reference: dict[str, bytes]) -> None:
    assert _snapshot(folder) == reference


@pytest.mark.slow
@pytest.mark.parametrize(
    ("signum", "points"), [(signal.SIGINT, 3), (signal.SIGTERM, 1)], ids=["SIGINT", "SIGTERM"]
)
def test_interrupt_at_random_points(baseline, tmp_path: Path, signum: int, points: int) -> None:
    base, seconds = baseline
    out = _copy(base, tmp_path / "reports")
    reference = _snapshot(out / QUARTER)
    rng = random.Random()
    seed = rng.randrange(10**6)
    rng.seed(seed)
    # one early (loading the data), one in the kernel, one late (export, index, swap)
    delays = [rng.uniform(0.3, 0.7) * seconds, rng.uniform(0, 0.2) * seconds]
    delays = [*delays, rng.uniform(0.8, 1.0) * seconds][:points]
    expected = 130 if signum == signal.SIGINT else 143
    for delay in delays:
        before = _exact(out / QUARTER)
        render = _start(out)
        # from the first line on: a signal while Python still imports the kit ends
        # with Python's own KeyboardInterrupt message (nothing is written by then)
        assert render.stderr.readline().startswith("reading ")
        time.sleep(delay)
        sent = time.monotonic()
        render.send_signal(signum)
        _, err = render.communicate(timeout=120)
        stopped = time.monotonic() - sent
        where = f"seed {seed}, signal after {delay:.1f}s: {err}"
        assert render.returncode in (expected, 0), where
        assert "Traceback" not in err and "bug in the kit" not in err, where
        if render.returncode == expected:
            assert stopped < 8, where  # kernels are killed, not waited for
            assert "the previous report is untouched" in err
            assert _exact(out / QUARTER) == before, where
        else:  # it had finished: a whole new report
            _check_whole(out / QUARTER, reference)
        # the interrupted render removed its own build
        assert _builds(out) == [os.readlink(out / QUARTER)], where
        assert _reap_kernels(render.pid) == [], where
    again = subprocess.run(
        [*CLI, "--out", str(out), *SMALL], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert again.returncode == 0, again.stderr
    _check_whole(out / QUARTER, reference)


@pytest.mark.slow
def test_sigkill_at_random_points(baseline, tmp_path: Path) -> None:
    base, seconds = baseline
    out = _copy(base, tmp_path / "reports")
    reference = _snapshot(out / QUARTER)
    rng = random.Random()
    seed = rng.randrange(10**6)
    rng.seed(seed)
    for delay in (rng.uniform(0.3, 0.5) * seconds, rng.uniform(0.6, 1.0) * seconds):
        render = _start(out)
        time.sleep(delay)
        render.kill()
        render.communicate(timeout=60)
        _reap_kernels(render.pid)
        where = f"seed {seed}, killed after {delay:.1f}s"
        # whatever instant it died at, the folder is a whole report
        _check_whole(out / QUARTER, reference)
        assert (out / QUARTER).is_symlink(), where
    # the next render removes what the dead ones left and renders the same report
    again = subprocess.run(
        [*CLI, "--out", str(out), *SMALL], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert again.returncode == 0, again.stderr
    _check_whole(out / QUARTER, reference)
    assert _builds(out) == [os.readlink(out / QUARTER)]
    assert not list(out.glob("*.link")) and not (out / ".failed").exists()


@pytest.mark.slow
def test_two_renders_of_one_quarter_started_together(baseline, tmp_path: Path) -> None:
    base, _ = baseline
    reference = _snapshot(base / QUARTER)
    # the default: the second waits for the first, both succeed
    out = tmp_path / "wait"
    first, second = _start(out), _start(out)
    results = [p.communicate(timeout=300) for p in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], results
    assert any("waiting up to 600s for the render with pid" in err for _, err in results)
    _check_whole(out / QUARTER, reference)
    assert _builds(out) == [os.readlink(out / QUARTER)]
    # --wait 0: one renders, the other refuses at once, naming it
    out = tmp_path / "refuse"
    first, second = _start(out, "--wait", "0"), _start(out, "--wait", "0")
    results = [p.communicate(timeout=300) for p in (first, second)]
    codes = sorted([first.returncode, second.returncode])
    assert codes == [0, 7], results
    refused = next(
        err for p, (_, err) in zip((first, second), results, strict=True) if p.returncode == 7
    )
    winner = first if second.returncode == 7 else second
    assert f"error: the render with pid {winner.pid} on" in refused
    assert "fix: wait for it to finish" in refused and "Traceback" not in refused
    _check_whole(out / QUARTER, reference)


@pytest.mark.slow
def test_full_disk_keeps_the_previous_report_and_frees_the_space(baseline, tmp_path: Path) -> None:
    base, _ = baseline
    reference = _snapshot(base / QUARTER)
    with tmpfs(tmp_path / "disk", "size=8m") as disk:
        out = _copy(base, disk / "reports")
        before = _exact(out / QUARTER)
        # leave about 1 MB: less than the render needs
        stat = os.statvfs(disk)
        filler = disk / "filler"
        with filler.open("wb") as fh, contextlib.suppress(OSError):
            fh.write(b"\0" * (stat.f_bavail * stat.f_frsize - 1_000_000))
        free_before = os.statvfs(disk).f_bavail
        done = subprocess.run(
            [*CLI, "--out", str(out), *SMALL], cwd=REPO, capture_output=True, text=True, check=False
        )
        assert done.returncode == 6, done.stderr
        errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and "is full" in errors[0] and "fix: free some space" in errors[0]
        assert "Traceback" not in done.stderr and "bug in the kit" not in done.stderr
        assert _exact(out / QUARTER) == before
        # the partial build is gone, and nothing was kept in .failed/: the space is back
        assert _builds(out) == [os.readlink(out / QUARTER)]
        assert not (out / ".failed").exists()
        assert os.statvfs(disk).f_bavail == free_before
        filler.unlink()
        done = subprocess.run(
            [*CLI, "--out", str(out), *SMALL], cwd=REPO, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stderr
        _check_whole(out / QUARTER, reference)
