"""Selecting one layer of a chart's spec by what it is, never by its position.

``layer(spec, "bar", x="share")`` is the one layer of ``spec["layer"]`` whose
mark is a bar and whose ``x`` channel shows the field ``share``; ``name=``
selects a layer the chart names (``.properties(name=...)``). Zero or several
matching layers fail the test, naming what the layers are, so reordering a
chart's layers (or adding one) breaks no test that does not care.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ANY", "layer", "mark_of"]

#: ``layer(spec, "bar", y2=ANY)``: the channel is encoded, whatever it shows
ANY = object()


def mark_of(spec: dict[str, Any]) -> str | None:
    """A layer's mark type ("bar", "rule", ...), or ``None`` for a nested layer chart."""
    mark = spec.get("mark")
    return mark.get("type") if isinstance(mark, dict) else mark


def _field(spec: dict[str, Any], channel: str) -> object:
    enc = spec.get("encoding", {}).get(channel)
    if isinstance(enc, dict):
        return enc.get("field", enc.get("datum", enc.get("value")))
    return None


def _shows(spec: dict[str, Any], channel: str, want: object) -> bool:
    if want is ANY:
        return channel in spec.get("encoding", {})
    return _field(spec, channel) == want


def layer(
    spec: dict[str, Any], mark: str | None = None, /, *, name: str | None = None, **fields: object
) -> dict[str, Any]:
    """The one layer of ``spec`` (a ``chart.to_dict()`` with ``"layer"``) that has the
    mark ``mark`` (any when ``None``), the ``name`` (when given) and, for each
    ``channel=field``, that field (or datum, or value) on that encoding channel
    (``channel=ANY``: the channel is encoded)."""
    layers = spec["layer"]
    found = [
        each
        for each in layers
        if (mark is None or mark_of(each) == mark)
        and (name is None or each.get("name") == name)
        and all(_shows(each, channel, want) for channel, want in fields.items())
    ]
    if len(found) != 1:
        have = [
            (each.get("name"), mark_of(each), sorted(each.get("encoding", {}))) for each in layers
        ]
        wanted = {"mark": mark, "name": name, **fields}
        raise AssertionError(f"{len(found)} layers match {wanted}; the layers: {have}")
    return found[0]
