"""Coverage and forecast: will the pipeline carry the shared number?

Definitions (docs/metrics/forecast.md, after the domain reference):

- *stage win probability*: of the deals closed in a trailing window that were
  ever in stage S while open, the share won (by count and by amount).
  Calibrated on history, never on the CRM's default stage probabilities.
- *pipeline coverage* = open pipeline expected to close in quarter Q (qualified
  stages only) / (target for Q - bookings so far in Q); *required coverage* =
  1 / win rate (by amount, trailing window). The rule of thumb "3x coverage" is
  only the inverse of a 33% win rate.
- *in-quarter win probability*: of the deals open at a past quarter's start
  and expected (as recorded then) to close in it, the share won **within that
  quarter**, by their stage at the start; pooled over recent complete quarters.
  The calibration a quarter's forecast needs ("ever won" overstates it).
- *bookings forecast*: three estimates weighted by their past accuracy (Bates
  and Granger): booked to date + weighted open pipeline (amount x season-aware
  p(stage, offset), overdue deals included) + bookings expected from pipeline
  not created yet; last year's same quarter grown with pipeline creation; and,
  mid-quarter, booked so far over the usual share by then; an interval from
  the weighted forecast's own past errors. The *track record* forecasts past
  quarters from past origins and sets each against what it booked, beside the
  seasonal-naive baseline.
- *pipeline needed* (the reverse waterfall): a future quarter's bookings target
  translated, through the win rate and the creation-to-close lag, into the
  pipeline each earlier creation quarter must create, the marketing-sourced
  part of it and the MQLs that takes, next to what has been created so far.

**Where "now" is.** ``as_of`` (an aware datetime) is the report instant. The
*current* quarter ``N`` is the fiscal quarter holding the first instant after
``as_of`` (so at a quarter's last microsecond the next quarter is current, with
nothing of it elapsed); quarters before ``N`` are *complete*. ``elapsed`` is the
share of ``N``'s duration (in time, quarter start to next quarter start in the
calendar's zone) before ``as_of``.

**Inputs** are the tables as seen at ``as_of`` (``FunnelData.at``): an open
deal's stage, amount and expected close date must be the ones recorded at
``as_of``, which only ``FunnelData.at`` rebuilds from ``stage_history``. The
functions also ignore rows created or closed after ``as_of`` themselves, so a
later close is treated as open, but they cannot rebuild its stage.

Expected close dates are calendar dates (already local): their quarter is
``calendar.quarter_index_expr`` of the date, with no time zone conversion.
Instants (``created_at``, ``closed_at``, ``mql_at``) are put in quarters in the
calendar's time zone.

Modules: ``probabilities`` (stage and in-quarter win probabilities), ``coverage``,
``seasonal`` (the season-aware rates and point forecasts, last year's quarter grown),
``track`` (the weights of the estimates and the interval, from past errors),
``bookings`` (the forecast), ``backtest`` (track record, accuracy, the seasonal-naive
baseline), ``overview`` (what a page states: each displayed quarter with its record),
``needed`` (pipeline needed, pipeline to create); shared pieces in ``_common``, Student's t
quantiles in ``_student``.
"""

from alignment_lib.metrics.forecast.backtest import (
    DISPLAYED_HORIZONS,
    forecast_accuracy,
    forecast_backtest,
    forecast_track_record,
    seasonal_naive_forecast,
)
from alignment_lib.metrics.forecast.bookings import CALIBRATIONS, Z_80, bookings_forecast
from alignment_lib.metrics.forecast.coverage import (
    DEFAULT_EXCLUDED_STAGES,
    in_quarter_conversion,
    pipeline_coverage,
)
from alignment_lib.metrics.forecast.needed import pipeline_needed, pipeline_to_create
from alignment_lib.metrics.forecast.overview import forecast_overview
from alignment_lib.metrics.forecast.probabilities import (
    in_quarter_win_probabilities,
    stage_win_probabilities,
)
from alignment_lib.metrics.forecast.seasonal import (
    DEFAULT_SEASON_WEIGHT,
    seasonal_win_probabilities,
)
from alignment_lib.metrics.forecast.track import DEFAULT_TRACK_QUARTERS

__all__ = [
    "CALIBRATIONS",
    "DEFAULT_EXCLUDED_STAGES",
    "DEFAULT_SEASON_WEIGHT",
    "DEFAULT_TRACK_QUARTERS",
    "DISPLAYED_HORIZONS",
    "Z_80",
    "bookings_forecast",
    "forecast_accuracy",
    "forecast_backtest",
    "forecast_overview",
    "forecast_track_record",
    "in_quarter_conversion",
    "in_quarter_win_probabilities",
    "pipeline_coverage",
    "pipeline_needed",
    "pipeline_to_create",
    "seasonal_naive_forecast",
    "seasonal_win_probabilities",
    "stage_win_probabilities",
]
