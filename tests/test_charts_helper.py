"""tests/_charts.layer: a layer is found by what it is, and a test that asks for a layer
the chart does not have, or for one of several alike, fails saying what the layers are."""

from __future__ import annotations

import pytest

from tests._charts import ANY, layer

SPEC = {
    "layer": [
        {"name": "bars", "mark": {"type": "bar"}, "encoding": {"x": {"field": "amount"}}},
        {"mark": "rule", "encoding": {"x": {"datum": 0.5}}},
        {"mark": {"type": "bar", "stroke": "#222222"}, "encoding": {"x": {"field": "total"}}},
        {"mark": "text", "encoding": {"x": {"field": "amount"}, "text": {"value": "hi"}}},
    ]
}


def test_a_layer_is_selected_by_mark_field_datum_value_or_name() -> None:
    assert layer(SPEC, "bar", x="amount") is SPEC["layer"][0]
    assert layer(SPEC, name="bars") is SPEC["layer"][0]
    assert layer(SPEC, x=0.5) is SPEC["layer"][1]
    assert layer(SPEC, "bar", x="total") is SPEC["layer"][2]
    assert layer(SPEC, text=ANY) is SPEC["layer"][3]
    assert layer(SPEC, "text", text="hi", y=None) is SPEC["layer"][3]


def test_no_match_or_several_fail_naming_the_layers() -> None:
    with pytest.raises(
        AssertionError, match=r"0 layers match .*'line'.*\('bars', 'bar', \['x'\]\)"
    ):
        layer(SPEC, "line")
    with pytest.raises(AssertionError, match="2 layers match"):
        layer(SPEC, "bar")
    with pytest.raises(AssertionError, match="2 layers match"):
        layer(SPEC, x="amount")
