"""Run-time replacements install once, keep the original for the replacement to call, and put it back."""

from __future__ import annotations

import sys
import types

import pytest

from lumen_ext.replacement import Replacement


class Base:
    def greet(self) -> str:
        return "base"


class Target(Base):
    def size(self) -> int:
        return 1


@pytest.fixture
def owner(monkeypatch):
    module = types.ModuleType("lumen_ext_replacement_probe")
    module.Target = Target
    module.answer = lambda: 42
    monkeypatch.setitem(sys.modules, module.__name__, module)
    original = Target.__dict__["size"]
    yield module
    Target.size = original


def test_a_method_is_replaced_and_put_back(owner):
    replacement = Replacement(
        f"{owner.__name__}:Target", "size", lambda original: lambda self: original(self) + 1
    )
    assert not replacement.installed and replacement.original is None
    replacement.install()
    replacement.install()  # idempotent: not wrapped twice
    assert Target().size() == 2 and replacement.installed and replacement.is_installed()
    replacement.uninstall()
    replacement.uninstall()
    assert Target().size() == 1 and not replacement.installed


def test_a_module_function_is_replaced_and_put_back(owner):
    replacement = Replacement(owner.__name__, "answer", lambda original: lambda: original() * 2)
    replacement.install()
    assert owner.answer() == 84
    replacement.uninstall()
    assert owner.answer() == 42


def test_an_inherited_method_is_not_replaced(owner):
    # Restoring it would leave an override on the subclass: refuse instead.
    with pytest.raises(KeyError):
        Replacement(f"{owner.__name__}:Target", "greet", lambda original: original).install()
    assert "greet" not in vars(Target)
