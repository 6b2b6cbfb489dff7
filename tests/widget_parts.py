"""Find the parts of the outlier browser by their CSS classes, not by their position."""

from __future__ import annotations

from typing import Any


def part(box: Any, css_class: str) -> Any:
    """Return the one widget inside `box` (or `box` itself) that has `css_class`."""
    found, todo = [], [box]
    while todo:
        widget = todo.pop()
        if css_class in getattr(widget, "_dom_classes", ()):
            found.append(widget)
        todo.extend(getattr(widget, "children", ()))
    assert len(found) == 1, (css_class, found)
    return found[0]
