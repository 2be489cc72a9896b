"""Contract specs: how each public entry point of this area is called (see README.md)."""

from __future__ import annotations

from .runner import Spec

SPECS: list[Spec] = []
#: entry point → why it is not fuzzed
EXEMPT: dict[object, str] = {}
