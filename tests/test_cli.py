"""The `alignment` command: exit codes, messages, and nothing written from bad input."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from alignment_lib.cli import main
from tests.conftest import opp


def test_validate_sample_is_valid(capsys) -> None:
    assert main(["validate"]) == 0
    assert "valid (" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("opportunities", "rule_text"),
    [
        ([opp(amount="-100")], "column 'amount': is negative"),
        ([opp(source="events")], "column 'source': has values outside the allowed set"),
        ([opp(), opp()], "column 'opportunity_id': has duplicate ids"),
        ([opp(closed_at="2026-01-01T00:00:00Z", outcome="lost")], "is earlier than created_at"),
        (
            [
                opp(closed_at="2026-02-01T00:00:00Z", outcome="won"),
                opp(opportunity_id="O2", amount="900"),
            ],
            "is empty on won deals",
        ),
        ([opp(created_at="yesterday")], "column 'created_at': has values that are not ISO 8601"),
        ([opp(amount="12k")], "column 'amount': has values that are not plain numbers"),
    ],
)
def test_report_on_bad_data_exits_3_and_writes_nothing(
    make_data, tmp_path: Path, capsys, opportunities, rule_text
) -> None:
    out = tmp_path / "reports"
    code = main(
        ["report", "--data", str(make_data(opportunities=opportunities)), "--out", str(out)]
    )
    err = capsys.readouterr().err
    assert code == 3
    assert rule_text in err and "opportunities.csv" in err and "fix:" in err
    assert not out.exists()


def test_missing_table_exits_2(make_data, tmp_path: Path, capsys) -> None:
    code = main(
        ["report", "--data", str(make_data(skip=("opportunities",))), "--out", str(tmp_path)]
    )
    assert code == 2
    assert (
        "no opportunities table (opportunities.csv or opportunities.parquet)"
        in capsys.readouterr().err
    )


@pytest.mark.slow
def test_bad_quarter_and_unknown_parameter_exit_4(tmp_path: Path, capsys) -> None:
    assert main(["report", "--quarter", "2026Q3", "--out", str(tmp_path)]) == 4
    assert "FY2026-Q3" in capsys.readouterr().err
    params = tmp_path / "p.yaml"
    params.write_text("histroy_quarters: 4\n")
    assert main(["report", "--params", str(params), "--out", str(tmp_path)]) == 4
    err = capsys.readouterr().err
    assert "unknown parameter histroy_quarters" in err and "history_quarters" in err
    params.write_text("history_quarters: four\n")
    assert main(["report", "--params", str(params), "--out", str(tmp_path)]) == 4
    assert "must be int" in capsys.readouterr().err
    assert not any(tmp_path.glob("FY*"))


@pytest.mark.slow
def test_console_script_exit_code(make_data) -> None:
    folder = make_data(opportunities=[opp(amount="-1")])
    done = subprocess.run(
        [sys.executable, "-m", "alignment_lib.cli", "validate", "--data", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 3
    assert "Traceback" not in done.stderr and "negative" in done.stderr


def test_bad_targets_file_exits_3_before_rendering(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "plan.csv"
    bad.write_text("fiscal_quarter,metric,team,value\n2026Q3,bookings,shared,1\n")
    code = main(["report", "--targets", str(bad), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 3
    assert "plan.csv" in err and "fiscal quarter labels" in err
    assert not (tmp_path / "out" / "FY2026-Q3").exists()


def test_every_exit_code_is_documented() -> None:
    from alignment_lib import exceptions
    from alignment_lib.cli import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_TERMINATED

    # a subclass that keeps its parent's code (MappingError is a SourceError) is that code
    family = [
        cls
        for cls in vars(exceptions).values()
        if isinstance(cls, type)
        and issubclass(cls, exceptions.AlignmentError)
        and "exit_code" in vars(cls)
    ]
    codes = {cls.exit_code for cls in family if cls is not exceptions.AlignmentError}
    codes |= {EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_TERMINATED}
    assert len(codes) == len(family) - 1 + 3  # no two errors share a code
    doc = (Path(__file__).resolve().parents[1] / "docs" / "rendering.md").read_text()
    table = doc.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    documented = {int(m) for m in re.findall(r"^\| (\d+) \|", table, flags=re.M)}
    assert documented == codes | {0}
    assert EXIT_INTERNAL == 70 and 70 not in {cls.exit_code for cls in family}


def test_output_folder_is_checked_before_the_data_is_read(tmp_path: Path, capsys) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    # a data folder that does not exist: the output problem is reported first, at once
    code = main(["report", "--data", str(tmp_path / "nowhere"), "--out", str(blocker / "r")])
    err = capsys.readouterr().err
    assert code == 6
    assert err.strip() == (
        f"error: cannot write the report to {blocker / 'r'}: {blocker} is a file, not a "
        "folder; fix: pass --out a folder path, or move that file away"
    )
    assert blocker.read_text() == "x"


def test_unknown_workbook_exits_4(tmp_path: Path, capsys) -> None:
    assert main(["report", "--workbook", "funel", "--out", str(tmp_path)]) == 4
    err = capsys.readouterr().err
    assert "unknown workbook funel" in err and "funnel" in err
    assert not any(tmp_path.iterdir())


@pytest.mark.slow
def test_filter_value_no_row_has_exits_4_before_rendering(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    code = main(["report", "--segment", "Nope", "--out", str(out), "--no-images"])
    assert code == 4
    err = capsys.readouterr().err
    assert "no lead or opportunity has segment 'Nope'" in err
    assert "'Enterprise', 'Mid-Market', 'SMB'" in err and "fix:" in err
    assert not any(p.name.startswith("FY") for p in out.glob("*"))


SHAPES = Path(__file__).resolve().parent / "shapes"


def test_validate_prints_the_data_health_table(capsys) -> None:
    """issue 9 item 8: rows read, every check with rows and outcome, what is tracked, what
    is switched off and why; exit 0 (the data can be reported on)."""
    assert main(["validate", "--data", str(SHAPES / "opportunities_only")]) == 0
    out = capsys.readouterr().out
    assert (
        "opportunities_only: valid (0 leads, 186 opportunities, 0 stage_history, 70 targets)" in out
    )
    assert "latest complete quarter: FY2026-Q3 (the report's default quarter)" in out
    assert "  Leads          no leads table\n" in out
    assert re.search(r"  opportunities  open, no amount +4 +2\.2% +excluded +excluded from", out)
    assert re.search(r"  leads +MQL never touched by sales +- +- +not tracked\n", out)
    assert "  funnel stages: Inquiry no, MQL no, SAL no, SQL no, Opportunity no, Won no" in out
    assert "  Slipped deals (business_cycles): This data has no stage history, so slipped " in out
    assert "Switched off: nothing" not in out


def test_validate_of_a_complete_source_switches_nothing_off(capsys) -> None:
    assert main(["validate", "--data", str(SHAPES / "full_funnel")]) == 0
    out = capsys.readouterr().out
    assert "Switched off: nothing (every measure of the pages can be shown)" in out
    assert "Opportunity yes, Won yes" in out


def test_validate_refuses_data_with_no_quarter_to_report(tmp_path: Path, capsys) -> None:
    # valid rows, all dated after today: no complete quarter to report on
    (tmp_path / "opportunities.csv").write_text(
        "opportunity_id,created_at,source,stage\nO1,2999-03-02T09:00:00Z,marketing,Discovery\n"
    )
    code = main(["validate", "--data", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "dated before now" in err


def test_handoff_settings_are_checked_before_any_workbook_runs(tmp_path: Path, capsys) -> None:
    params = tmp_path / "p.yaml"
    params.write_text("sla_clock: weekdays\n")
    assert main(["report", "--params", str(params), "--out", str(tmp_path)]) == 4
    assert "sla_clock must be 'calendar' or 'business'" in capsys.readouterr().err
    assert main(["report", "--stall-days", "-3", "--out", str(tmp_path)]) == 4
    assert "stall_days must be a number of days" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # argparse refuses an unknown clock itself
        main(["report", "--sla-clock", "weekdays", "--out", str(tmp_path)])
    assert not any(tmp_path.glob("FY*"))


def test_handoff_settings_reach_the_parameters() -> None:
    from alignment_lib.cli import _merge, _parser

    args = _parser().parse_args(["report", "--sla-clock", "business", "--stall-days", "14"])
    values = _merge(args, {})
    assert (values["sla_clock"], values["stall_days"]) == ("business", 14.0)
    # not given: left to the workbook's defaults (calendar hours, the data's p99)
    plain = _merge(_parser().parse_args(["report"]), {})
    assert "sla_clock" not in plain and "stall_days" not in plain


def test_no_benchmarks_sets_the_scorecard_parameter() -> None:
    """--no-benchmarks passes show_benchmarks=False (the scorecard's parameter); without it
    the notebook's default (True) holds; a parameter file may set it too."""
    from alignment_lib.cli import _merge, _parser

    parser = _parser()
    off = _merge(parser.parse_args(["report", "--no-benchmarks"]), {})
    assert off["show_benchmarks"] is False
    default = _merge(parser.parse_args(["report"]), {})
    assert "show_benchmarks" not in default
    assert (
        _merge(parser.parse_args(["report"]), {"show_benchmarks": False})["show_benchmarks"]
        is False
    )
