"""Every malformed-input corpus case has its documented outcome (docs/bad-input.md).

Each case runs through the real command line (``alignment validate --data DIR``,
in-process through ``alignment_lib.cli.main``) under a time limit: the exit
code, the message (file, line or row, the fix), no traceback. Repaired cases
also check that the numbers leave the bad values out.
"""

from __future__ import annotations

import re
import signal
from pathlib import Path

import polars as pl
import pytest

from alignment_lib import load_funnel
from alignment_lib.cli import main
from tests.conftest import REPO
from tests.corpus.build_corpus import CASES, build

_LIMIT_S = 20


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build(tmp_path_factory.mktemp("corpus"))


def _validate(folder: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    def too_slow(signum: int, frame: object) -> None:
        raise TimeoutError(f"alignment validate took more than {_LIMIT_S} s on {folder.name}")

    old = signal.signal(signal.SIGALRM, too_slow)
    signal.alarm(_LIMIT_S)
    try:
        code = main(["validate", "--data", str(folder)])
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    out = capsys.readouterr()
    return code, out.out + out.err


@pytest.mark.parametrize("case", list(CASES))
def test_corpus_case_has_its_documented_outcome(case: str, corpus, capsys) -> None:
    code, text = _validate(corpus[case], capsys)
    expected = CASES[case]
    assert code == expected.exit_code, text
    assert "Traceback" not in text and "internal error" not in text, text
    for fragment in expected.says:
        assert fragment in text, (fragment, text)
    if code:
        assert "fix:" in text, text


def test_every_case_is_documented() -> None:
    doc = (REPO / "docs" / "bad-input.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `(\w+)` \| .*? \| (\d) \|", doc, flags=re.M))
    assert rows == {name: str(case.exit_code) for name, case in CASES.items()}


def test_control_characters_never_reach_the_numbers(corpus) -> None:
    data = load_funnel(corpus["control_characters"])
    leads = data.leads.collect()
    text = leads.select("campaign", "channel", "owner_id", "rejection_reason")
    unsafe = r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]"
    assert not text.select(pl.any_horizontal(pl.all().str.contains(unsafe))).to_series().any()
    assert leads.filter(pl.col("lead_id") == leads["lead_id"][2])["campaign"][0] == (
        "Spring Launch[31m"
    )
    assert leads["rejection_reason"][5] == "Bad fit now"
    repaired = {(p.column, p.rows) for p in data.repairs}
    assert repaired == {
        ("campaign", (3,)),
        ("channel", (4,)),
        ("owner_id", (5,)),
        (
            "rejection_reason",
            (6,),
        ),
    }


def test_outlying_amount_is_left_out_of_the_numbers(corpus) -> None:
    from alignment_lib import FiscalQuarter, bookings, load_notices

    clean, broken = load_funnel(corpus["valid"]), load_funnel(corpus["amount_1e15"])
    both = clean.opportunities.join(broken.opportunities, on="opportunity_id", suffix="_b")
    changed = both.filter(pl.col("amount").ne_missing(pl.col("amount_b"))).collect()
    # one won deal changed: its 1e15 amount is left out (null), the deal itself still counts
    assert changed.select("outcome", "amount_b").rows() == [("won", None)]
    assert broken.opportunities.collect().height == clean.opportunities.collect().height
    span = {"first": FiscalQuarter(2020, 1), "last": FiscalQuarter(2030, 4)}

    def booked(data) -> tuple[int, float]:
        got = bookings(data.opportunities, calendar=data.calendar, **span).collect()
        return int(got["deals"].sum()), float(got["amount"].sum())

    (deals_clean, amount_clean), (deals_broken, amount_broken) = booked(clean), booked(broken)
    assert deals_broken == deals_clean
    assert amount_broken == pytest.approx(amount_clean - changed["amount"][0])
    notices = load_notices(broken)
    assert notices.select("kind", "rule", "rows").rows() == [("warning", "amount_outlier", 1)]


def test_bom_and_crlf_read_like_the_clean_slice(corpus) -> None:
    clean = load_funnel(corpus["valid"]).opportunities.collect()
    for case in ("utf8_bom", "crlf_line_endings"):
        data = load_funnel(corpus[case])
        assert data.opportunities.collect().equals(clean), case
        assert data.leads.collect_schema().names()[0] == "lead_id"
