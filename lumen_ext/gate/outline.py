"""What a spec's page will show, read from the spec: its layouts (tabs or not), and where each view sits.

Lumen 1.4 draws each layout as a Panel ``Card`` named after the layout's title (``lumen/layout.py`` ``Card``: its
header, then one child built by ``_construct_layout``). That child holds the views in the order the layout's
``layout:`` grid lists them (``resolve_layout_spec``: nested lists alternate Column and Row), or, without a grid,
in the order of ``views:``. So a view is found in the page by the layout's title and a path of child indices,
without anything added to the page. A faceted layout has one card per facet (named after the facet's value) in a
column named after the layout, each holding the views the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["DashboardOutline", "LayoutOutline", "view_label"]


@dataclass(frozen=True)
class LayoutOutline:
    title: str
    # view name -> child indices from the card's layout child down to the view ("views[2]" for unnamed views)
    views: dict[str, tuple[int, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class DashboardOutline:
    tabs: bool  # ``config.layout: tabs``: one layout at a time, the others built when their tab is opened
    layouts: tuple[LayoutOutline, ...]

    @classmethod
    def from_spec(cls, data: Any) -> DashboardOutline:
        data = data if isinstance(data, dict) else {}
        config = data.get("config") if isinstance(data.get("config"), dict) else {}
        layouts = data.get("layouts", data.get("targets"))
        found = []
        for layout in layouts if isinstance(layouts, list) else []:
            if isinstance(layout, dict) and isinstance(layout.get("title"), str):
                found.append(LayoutOutline(layout["title"], _view_paths(layout)))
        return cls(config.get("layout") == "tabs", tuple(found))

    def titles(self) -> list[str]:
        return [layout.title for layout in self.layouts]

    def layout(self, title: str) -> LayoutOutline | None:
        return next((layout for layout in self.layouts if layout.title == title), None)


def view_label(views: Any, index: int, name: Any) -> str:
    return str(name) if isinstance(views, dict) else (str(name) if name else f"views[{index}]")


def _view_paths(layout: dict) -> dict[str, tuple[int, ...]]:
    views = layout.get("views")
    if isinstance(views, dict):
        names = [str(name) for name in views]
    elif isinstance(views, list):
        names = [
            view_label(views, i, view.get("name") if isinstance(view, dict) else None)
            for i, view in enumerate(views)
        ]
    else:
        return {}
    grid = layout.get("layout")
    if not isinstance(grid, list):
        return {name: (i,) for i, name in enumerate(names)}
    paths: dict[str, tuple[int, ...]] = {}
    _walk_grid(grid, names, views, (), paths)
    return paths


def _walk_grid(grid: list, names: list[str], views: Any, prefix: tuple[int, ...], paths: dict) -> None:
    """``resolve_layout_spec``'s walk: an int is an index into the views, a string a view's name, a list a
    nested Row or Column."""
    for i, item in enumerate(grid):
        if isinstance(item, bool):
            continue
        if isinstance(item, int) and 0 <= item < len(names):
            paths.setdefault(names[item], (*prefix, i))
        elif isinstance(item, str):
            declared = list(views) if isinstance(views, dict) else names
            if item in declared:
                paths.setdefault(names[declared.index(item)], (*prefix, i))
        elif isinstance(item, list):
            _walk_grid(item, names, views, (*prefix, i), paths)
