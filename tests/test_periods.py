"""Tests for cspdash.periods: UK financial-year periods (Q1 = April-June), their labels, parsing and arithmetic."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from cspdash.errors import PeriodError
from cspdash.periods import Period, parse_period, quarter_range

# --- parsing: every accepted notation -> canonical label -------------------------------------------------------

ACCEPTED = [
    # quarters
    ("2017/18 Q1", "2017/18 Q1", "quarter"),
    ("2017-18 Q1", "2017/18 Q1", "quarter"),
    ("FY2017/18 Q1", "2017/18 Q1", "quarter"),
    ("Q1 2017/18", "2017/18 Q1", "quarter"),
    ("fy2017/18 q1", "2017/18 Q1", "quarter"),
    ("FY 2017/18 Q1", "2017/18 Q1", "quarter"),
    ("Q1 FY2017/18", "2017/18 Q1", "quarter"),
    ("Q3 2017-18", "2017/18 Q3", "quarter"),
    ("2017/2018 Q4", "2017/18 Q4", "quarter"),
    ("  2017/18   Q2 ", "2017/18 Q2", "quarter"),
    ("1999/00 Q2", "1999/00 Q2", "quarter"),
    # financial years
    ("2017/18", "2017/18", "year"),
    ("FY2017/18", "2017/18", "year"),
    ("2017-18", "2017/18", "year"),  # 18 is not a month, so not ambiguous
    ("2017/2018", "2017/18", "year"),
    # months
    ("2017-04", "2017-04", "month"),
    ("2018-1", "2018-01", "month"),
    ("201704", "2017-04", "month"),
    ("Apr 2017", "2017-04", "month"),
    ("April 2017", "2017-04", "month"),
    ("Sept 2017", "2017-09", "month"),
    ("04/2017", "2017-04", "month"),
    # dates: dd/mm/yyyy (never mm/dd) and yyyy-mm-dd; a date becomes the quarter containing it
    ("05/04/2018", "2018/19 Q1", "quarter"),  # 5 April 2018
    ("04/05/2018", "2018/19 Q1", "quarter"),  # 4 May 2018
    ("31/03/2018", "2017/18 Q4", "quarter"),  # last day of 2017/18
    ("01/04/2018", "2018/19 Q1", "quarter"),  # first day of 2018/19
    ("12/01/2018", "2017/18 Q4", "quarter"),  # 12 Jan 2018 (as mm/dd it would be 1 Dec: Q3)
    ("01/12/2017", "2017/18 Q3", "quarter"),  # 1 Dec 2017 (as mm/dd it would be 12 Jan 2018: Q4)
    ("30/06/2017", "2017/18 Q1", "quarter"),
    ("01/07/2017", "2017/18 Q2", "quarter"),
    ("5-4-2018", "2018/19 Q1", "quarter"),
    ("2018-04-05", "2018/19 Q1", "quarter"),
    ("2018-03-31", "2017/18 Q4", "quarter"),
    ("2018-03-31 00:00:00", "2017/18 Q4", "quarter"),
]


@pytest.mark.parametrize(("text", "label", "grain"), ACCEPTED, ids=[a[0].strip() for a in ACCEPTED])
def test_accepted_notation_gives_canonical_label(text, label, grain):
    p = parse_period(text)
    assert (p.label, p.grain, str(p)) == (label, grain, label)


@pytest.mark.parametrize(
    ("text", "grain", "label"),
    [
        ("05/04/2018", "month", "2018-04"),  # day 5, month 4
        ("04/05/2018", "month", "2018-05"),  # day 4, month 5
        ("12/01/2018", "month", "2018-01"),
        ("31/03/2018", "year", "2017/18"),
        ("01/04/2018", "year", "2018/19"),
        ("2018-04-05", "month", "2018-04"),
        ("2017-04", "quarter", "2017/18 Q1"),  # a month coarsens to its quarter
        ("2018-02", "year", "2017/18"),
        ("2017/18 Q3", "year", "2017/18"),
        ("2011-12", "month", "2011-12"),  # the grain resolves the ambiguity
        ("2011-12", "year", "2011/12"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_grain_argument(text, grain, label):
    assert parse_period(text, grain=grain).label == label


@pytest.mark.parametrize(
    ("value", "label"),
    [
        (date(2018, 3, 31), "2017/18 Q4"),
        (date(2018, 4, 1), "2018/19 Q1"),
        (datetime(2017, 12, 31, 23, 59), "2017/18 Q3"),
        (Period.quarter(2017, 2), "2017/18 Q2"),
    ],
    ids=["date-31-mar", "date-1-apr", "datetime", "period"],
)
def test_non_text_values(value, label):
    assert parse_period(value).label == label


# --- rejections, with messages that say what is wrong ----------------------------------------------------------

REJECTED = [
    ("2017/18 Q5", "quarter Q5 does not exist: a financial year has Q1 (Apr-Jun) to Q4 (Jan-Mar)"),
    ("Q5 2017/18", "quarter Q5 does not exist"),
    ("2017/18 Q0", "quarter Q0 does not exist"),
    ("2017/19 Q1", "'2017/19 Q1': a financial year runs April to March, so 2017 must be followed by 18, not 19"),
    ("2017/19", "so 2017 must be followed by 18, not 19"),
    ("2017/2019", "so 2017 must be followed by 2018, not 2019"),
    ("31/02/2018", "'31/02/2018' is not a real date (dates are read as dd/mm/yyyy or yyyy-mm-dd)"),
    ("13/13/2018", "is not a real date"),
    ("2018-02-30", "is not a real date"),
    ("garbage", "'garbage' is not a period this tool can read; accepted: quarters: 2017/18 Q1"),
    ("2011-12", "'2011-12' is ambiguous: write 2011/12 for the financial year or Dec 2011 for the month"),
    ("", "the period is empty; accepted:"),
    ("Foo 2017", "'Foo 2017': 'Foo' is not a month name"),
    ("201713", "month 13 is not 1-12"),
]


@pytest.mark.parametrize(("text", "message"), REJECTED, ids=[r[0] or "empty" for r in REJECTED])
def test_rejected_with_helpful_message(text, message):
    with pytest.raises(PeriodError) as e:
        parse_period(text)
    assert message in str(e.value)


def test_period_error_is_a_value_error():
    with pytest.raises(ValueError, match="is not a period"):
        parse_period(2017)


@pytest.mark.parametrize(
    ("text", "grain", "message"),
    [
        ("2017/18", "quarter", "'2017/18' is a year, but a quarter is needed here"),
        ("2017/18 Q1", "month", "'2017/18 Q1' is a quarter, but a month is needed here"),
        ("2017-04", "week", "unknown grain 'week'"),
    ],
    ids=["year-as-quarter", "quarter-as-month", "bad-grain"],
)
def test_finer_grain_cannot_be_made_up(text, grain, message):
    with pytest.raises(PeriodError, match=message):
        parse_period(text, grain=grain)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Period.quarter(2017, 5), "quarter Q5 does not exist"),
        (lambda: Period.month(2017, 13), "month 13 is not 1-12"),
        (lambda: Period(2017, 1, "quarter"), "month index 1 does not start a quarter"),
        (lambda: Period(2017, 0, "week"), "unknown grain 'week'"),
    ],
    ids=["Q5", "month-13", "misaligned-quarter", "bad-grain"],
)
def test_constructor_rejections(make, message):
    with pytest.raises(PeriodError, match=message):
        make()


# --- arithmetic across year boundaries --------------------------------------------------------------------------

Q = Period.quarter
M = Period.month
Y = Period.year


@pytest.mark.parametrize(
    ("start", "n", "label"),
    [
        (Q(2017, 4), 1, "2018/19 Q1"),
        (Q(2017, 1), -1, "2016/17 Q4"),
        (Q(2017, 3), 5, "2018/19 Q4"),
        (Q(2017, 3), -8, "2015/16 Q3"),
        (Q(2017, 2), 0, "2017/18 Q2"),
        (M(2018, 3), 1, "2018-04"),  # March -> April crosses the financial year
        (M(2018, 1), -1, "2017-12"),  # crosses the calendar year inside one financial year
        (M(2017, 4), -1, "2017-03"),
        (M(2017, 11), 14, "2019-01"),
        (Y(2017), 1, "2018/19"),
        (Y(2017), -3, "2014/15"),
    ],
    ids=lambda v: str(v),
)
def test_shift(start, n, label):
    assert start.shift(n).label == label


@pytest.mark.parametrize(
    ("period", "previous", "same_last_year"),
    [
        (Q(2017, 1), "2016/17 Q4", "2016/17 Q1"),
        (Q(2017, 4), "2017/18 Q3", "2016/17 Q4"),
        (Q(2018, 3), "2018/19 Q2", "2017/18 Q3"),
        (M(2017, 4), "2017-03", "2016-04"),
        (M(2018, 1), "2017-12", "2017-01"),
        (M(2018, 3), "2018-02", "2017-03"),
        (Y(2017), "2016/17", "2016/17"),
    ],
    ids=str,
)
def test_previous_and_same_last_year(period, previous, same_last_year):
    assert (period.previous().label, period.same_last_year().label) == (previous, same_last_year)


@pytest.mark.parametrize(
    ("period", "months"),
    [
        (Q(2017, 1), ["2017-04", "2017-05", "2017-06"]),
        (Q(2017, 3), ["2017-10", "2017-11", "2017-12"]),
        (Q(2017, 4), ["2018-01", "2018-02", "2018-03"]),
        (M(2018, 2), ["2018-02"]),
        (Y(2017), ["2017-04", "2017-05", "2017-06", "2017-07", "2017-08", "2017-09", "2017-10", "2017-11", "2017-12",
                   "2018-01", "2018-02", "2018-03"]),
    ],
    ids=str,
)
def test_months(period, months):
    assert [m.label for m in period.months()] == months
    assert all(m.grain == "month" for m in period.months())


@pytest.mark.parametrize(
    ("period", "ytd"),
    [
        (Q(2017, 1), ["2017/18 Q1"]),
        (Q(2017, 3), ["2017/18 Q1", "2017/18 Q2", "2017/18 Q3"]),
        (Q(2017, 4), ["2017/18 Q1", "2017/18 Q2", "2017/18 Q3", "2017/18 Q4"]),
        (M(2017, 4), ["2017-04"]),
        (M(2017, 6), ["2017-04", "2017-05", "2017-06"]),
        (Y(2017), ["2017/18"]),
    ],
    ids=str,
)
def test_year_to_date(period, ytd):
    assert [p.label for p in period.year_to_date()] == ytd


def test_year_to_date_of_a_late_month_runs_from_april():
    ytd = M(2018, 1).year_to_date()
    assert (len(ytd), ytd[0].label, ytd[-1].label) == (10, "2017-04", "2018-01")


@pytest.mark.parametrize(
    ("earlier", "later"),
    [
        (Q(2017, 4), Q(2018, 1)),
        (Q(2017, 1), Q(2017, 2)),
        (M(2017, 12), M(2018, 1)),
        (M(2018, 3), M(2018, 4)),
        (Y(2016), Y(2017)),
    ],
    ids=str,
)
def test_consecutive_periods_have_consecutive_ordinals(earlier, later):
    assert later.ordinal - earlier.ordinal == 1
    assert earlier < later


def test_ordinal_distance_counts_quarters():
    assert Q(2018, 1).ordinal - Q(2016, 3).ordinal == 6


@pytest.mark.parametrize(
    ("period", "start", "end"),
    [
        (Q(2017, 1), date(2017, 4, 1), date(2017, 6, 30)),
        (Q(2017, 3), date(2017, 10, 1), date(2017, 12, 31)),
        (Q(2017, 4), date(2018, 1, 1), date(2018, 3, 31)),
        (M(2020, 2), date(2020, 2, 1), date(2020, 2, 29)),
        (Y(2019), date(2019, 4, 1), date(2020, 3, 31)),
    ],
    ids=str,
)
def test_start_and_end(period, start, end):
    assert (period.start, period.end) == (start, end)


@pytest.mark.parametrize(
    ("period", "grain", "label"),
    [
        (M(2018, 2), "quarter", "2017/18 Q4"),
        (M(2018, 2), "year", "2017/18"),
        (M(2017, 4), "quarter", "2017/18 Q1"),
        (Q(2017, 3), "year", "2017/18"),
        (Q(2017, 3), "month", "2017-10"),
    ],
    ids=lambda v: str(v),
)
def test_at(period, grain, label):
    assert period.at(grain).label == label


def test_quarters_of_a_year_and_of_a_month():
    assert [q.label for q in Y(2017).quarters()] == ["2017/18 Q1", "2017/18 Q2", "2017/18 Q3", "2017/18 Q4"]
    assert [q.label for q in M(2018, 1).quarters()] == ["2017/18 Q4"]


@pytest.mark.parametrize(
    ("outer", "inner", "expected"),
    [
        (Y(2017), Q(2017, 4), True),
        (Y(2017), M(2018, 3), True),
        (Y(2017), M(2018, 4), False),
        (Q(2017, 4), M(2018, 1), True),
        (Q(2017, 4), M(2017, 12), False),
        (Q(2017, 1), Y(2017), False),
    ],
    ids=str,
)
def test_contains(outer, inner, expected):
    assert outer.contains(inner) is expected


def test_labels_and_display():
    assert (M(2017, 4).label, M(2017, 4).display) == ("2017-04", "Apr 2017")
    assert (Q(2017, 2).display, Y(2017).display, Y(2017).fy_label) == ("2017/18 Q2", "2017/18", "2017/18")
    assert (Q(2017, 3).q, M(2018, 2).q, Q(2017, 3).n_months, Y(2017).n_months) == (3, 4, 3, 12)


def test_quarter_range_crosses_years():
    got = quarter_range(parse_period("2016/17 Q3"), parse_period("Jun 2017"))
    assert [p.label for p in got] == ["2016/17 Q3", "2016/17 Q4", "2017/18 Q1"]
