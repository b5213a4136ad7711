"""One Lumen component class as a catalog entry: its keys (Lumen's key hooks, param declarations and the Panel
params it passes on), each with a type descriptor, and its required keys."""

from __future__ import annotations

from typing import Any

from lumen_ext.spec.generator_tables import HOOK_SHAPES, NOT_HOOKS, PARAM_OVERRIDES
from lumen_ext.spec.param_descriptors import clean_doc, describe

__all__ = ["describe_component"]


def _hook_names(cls: type) -> dict[str, str]:
    """`_validate_<key>` hooks reachable from cls, mapped to the name of the class that defines each."""
    hooks = {}
    for klass in reversed(cls.__mro__):
        for attr in vars(klass):
            if attr.startswith("_validate_") and attr not in NOT_HOOKS and not attr.endswith("_"):
                key = attr[len("_validate_") :]
                if key in {"list_subtypes", "dict_subtypes", "str_or_spec", "dict_or_list_subtypes"}:
                    continue
                if key in {"defaults", "callback", "param", "value"}:  # helpers, not key hooks
                    continue
                hooks[key] = klass.__name__
    return hooks


def describe_component(cls: type, family: str | None = None) -> dict[str, Any]:
    """Everything the validator needs about one Lumen component class."""
    valid = cls._valid_keys_
    keys_checked = valid is not None
    panel_type = getattr(cls, "_panel_type", None)
    if isinstance(panel_type, property):
        panel_type = None
    internal = set(getattr(cls, "_internal_params", []))
    legacy = list(getattr(cls, "_legacy_params", []))
    # Without a key check Lumen still consumes its legacy keys (views: source/table/transforms/sql_transforms).
    key_names = list(valid) if keys_checked else [p for p in cls.param if p not in internal] + legacy
    hooks = _hook_names(cls)
    fields: dict[str, Any] = {}
    for key in key_names:
        if key in fields:
            continue
        if key == "type" and family:
            continue
        hook_owner = hooks.get(key)
        if hook_owner is not None:
            shape = _hook_shape(hook_owner, key)
            if shape is not None:
                desc = dict(shape)
                doc = clean_doc(cls.param[key].doc) if key in cls.param else None
                if doc:
                    desc.setdefault("doc", doc)
                fields[key] = desc
                continue
        if (cls.__name__, key) in PARAM_OVERRIDES:
            fields[key] = dict(PARAM_OVERRIDES[(cls.__name__, key)])
            if key in cls.param and clean_doc(cls.param[key].doc):
                fields[key]["doc"] = clean_doc(cls.param[key].doc)
        elif key in cls.param:
            fields[key] = describe(cls.param[key])
        elif (owner := _panel_owner(key, panel_type)) is not None:
            desc = describe(owner.param[key])
            desc["panel"] = f"{owner.__module__}.{owner.__name__}"
            fields[key] = desc
        else:
            fields[key] = {"t": "any"}
        if key in getattr(cls, "_legacy_params", []) and "deprecated" not in fields[key]:
            fields[key]["legacy"] = True
    required = []
    # Pipeline spells it `_required_fields` (a typo Lumen never reads, pipeline.py:178), yet a pipeline with
    # neither `source` nor `pipeline` fails at build time (LUMEN-NOTES §6.2 #10): honour the intent.
    declared = [*getattr(cls, "_required_keys", []), *vars(cls).get("_required_fields", [])]
    for key in declared:
        if key == "type":
            continue
        required.append(list(key) if isinstance(key, tuple) else key)
    entry: dict[str, Any] = {
        "class": f"{cls.__module__}.{cls.__name__}",
        "doc": clean_doc(cls.__doc__),
        "keys_checked": keys_checked,
        "allows_refs": bool(getattr(cls, "_allows_refs", True)),
        "required": required,
        "fields": fields,
    }
    if panel_type is not None:
        entry["panel_type"] = f"{panel_type.__module__}.{panel_type.__name__}"
    if getattr(cls, "_supports_sql", False):
        # Sources that run `sql_transforms` (pipeline.py:375-381 refuses them on any other source).
        entry["supports_sql"] = True
    return entry


def _panel_owner(key: str, panel_type: type | None) -> type | None:
    """The Panel class whose param a non-param key configures: the view's `_panel_type`, else `Layoutable`
    (Layout accepts every Layoutable param, layout.py:502-506)."""
    from panel.viewable import Layoutable

    for owner in (panel_type, Layoutable):
        if owner is not None and key in owner.param:
            return owner
    return None


def _hook_shape(owner: str, key: str) -> dict[str, Any] | None:
    if (owner, key) not in HOOK_SHAPES:
        raise SystemExit(
            f"Lumen defines {owner}._validate_{key}, which lumen_ext.spec.generator_tables.HOOK_SHAPES does not "
            "describe. Read the hook and add the shape it accepts."
        )
    shape = HOOK_SHAPES[(owner, key)]
    if shape is not None and shape["t"] == "template":
        from lumen import dashboard

        return dict(shape, values=list(dashboard._TEMPLATES))
    if shape is None:
        from lumen import dashboard

        tables = {"layout": dashboard._LAYOUTS, "theme": dashboard._THEMES}
        return {"t": "enum", "values": list(tables[key])}
    return shape
