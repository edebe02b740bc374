"""Targets by segment and region: the filtered scorecard against DuckDB SQL.

The sample's targets are the company's only; the test adds rows for segments and regions
(derived from the company's: 40% for Enterprise, 15% for Enterprise in EMEA, 30% of the
pipeline targets for EMEA), then, for each filter, compares the scorecard's deal targets
with SQL that picks the target rows of exactly that filter (``IS NOT DISTINCT FROM``: an
empty segment or region is the whole company's) and computes the filter's actuals from the
opportunities. Definitions: docs/metrics.md ("Targets and attainment", "Shared
scorecard"); SQL written without calling the kit.
"""

from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from alignment_lib import shared_scorecard
from tests.crosscheck.conftest import AS_OF, QUARTER, sql

DEAL_METRICS = (
    "bookings",
    "pipeline_created",
    "marketing_pipeline_created",
    "won_deals",
    "opportunities_created",
)

SCORECARD = """
WITH scoped AS (
    SELECT * FROM opportunities
    WHERE ($segment IS NULL OR segment = $segment) AND ($region IS NULL OR region = $region)
), deals AS (
    SELECT source, amount,
           year(created_at) * 4 + (month(created_at) - 1) // 3 = $q AS created_in,
           outcome = 'won' AND closed_at <= $as_of
               AND year(closed_at) * 4 + (month(closed_at) - 1) // 3 = $q AS won_in
    FROM scoped
), actuals AS (
    SELECT team, metric, actual FROM (
        SELECT t.team,
               coalesce(sum(amount) FILTER (WHERE won_in), 0) AS bookings,
               coalesce(sum(amount) FILTER (WHERE created_in), 0) AS pipeline_created,
               coalesce(sum(amount) FILTER (WHERE created_in AND source = 'marketing'), 0)
                   AS marketing_pipeline_created,
               count(*) FILTER (WHERE won_in) AS won_deals,
               count(*) FILTER (WHERE created_in) AS opportunities_created
        FROM (VALUES ('shared'), ('marketing'), ('sales'), ('partner')) t(team)
        LEFT JOIN deals d ON t.team = 'shared' OR d.source = t.team
        GROUP BY t.team
    ) UNPIVOT (actual FOR metric IN (
        bookings, pipeline_created, marketing_pipeline_created, won_deals, opportunities_created
    ))
)
SELECT g.metric, g.team, g.value::DOUBLE AS target, a.actual::DOUBLE AS actual,
       (a.actual / nullif(g.value, 0))::DOUBLE AS attainment
FROM extended g JOIN actuals a ON a.metric = g.metric AND a.team = g.team
WHERE g.fiscal_quarter = $label
  AND g.segment IS NOT DISTINCT FROM $segment AND g.region IS NOT DISTINCT FROM $region
ORDER BY g.metric, g.team
"""


@pytest.fixture(scope="module")
def extended(sample, duck) -> pl.DataFrame:
    company = sample.targets.collect()
    scoped = [
        company.with_columns(pl.col("value") * share, segment=pl.lit(seg), region=pl.lit(reg))
        for share, seg, reg in ((0.4, "Enterprise", None), (0.15, "Enterprise", "EMEA"))
    ]
    emea = company.filter(pl.col("metric").str.contains("pipeline")).with_columns(
        pl.col("value") * 0.3, segment=pl.lit(None, pl.String), region=pl.lit("EMEA")
    )
    frame = pl.concat([company, *scoped, emea], how="vertical_relaxed")
    duck.execute("CREATE OR REPLACE TABLE extended AS SELECT * FROM frame")
    return frame


@pytest.mark.slow
@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"segment": "Enterprise"},
        {"segment": "Enterprise", "region": "EMEA"},
        {"region": "EMEA"},
    ],
    ids=["company", "enterprise", "enterprise-emea", "emea"],
)
def test_filtered_scorecard_compares_with_its_own_targets(
    sample, duck, extended: pl.DataFrame, filters: dict
) -> None:
    data = sample.with_targets(extended.lazy()).where(**filters)
    got = (
        shared_scorecard(
            data.leads,
            data.opportunities,
            data.targets,
            calendar=data.calendar,
            quarter=QUARTER,
            as_of=AS_OF,
        )
        .filter(pl.col("metric").is_in(DEAL_METRICS))
        .select("metric", "team", "target", "actual", "attainment")
        .collect()
    )
    want = sql(
        duck,
        SCORECARD,
        segment=filters.get("segment"),
        region=filters.get("region"),
        q=QUARTER.year * 4 + QUARTER.quarter - 1,
        label=QUARTER.label,
        as_of=AS_OF,
    )
    assert want.height >= 2
    assert_frame_equal(got, want, check_exact=False, rel_tol=1e-9)
    assert data.tracking.targets_unset_for == ""


def test_filter_without_targets_of_its_own_has_none(sample, duck, extended) -> None:
    data = sample.with_targets(extended.lazy()).where(region="NA")
    rows = sql(
        duck,
        "SELECT count(*) AS n FROM extended WHERE segment IS NULL AND region = 'NA'",
    )
    assert rows["n"][0] == 0 and data.targets.collect().height == 0
    assert data.tracking.targets_unset_for == "Region: NA"
