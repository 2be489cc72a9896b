"""Objects of the package (flows, layers, generators, widgets, configs) and of bqplot (marks,
scales)."""

from __future__ import annotations

from .core import WRONG_TYPES, Bad, Kind, bad, no_none


def obj(name: str, *bads: Bad, optional: bool = False) -> Kind:
    """An object of the package (a layer, a flow, a target, a widget): wrong types plus
    ``bads`` (e.g. a flow of the wrong dimension)."""
    return Kind(name, (*no_none(WRONG_TYPES, optional), bad("int", 3), *bads))


def passed() -> Kind:
    """A parameter handed on to a base class whose own spec fuzzes it (a good value only)."""
    return Kind("passed on (fuzzed in the base class's spec)", ())


def generator(*, optional: bool = True) -> Kind:
    """A ``torch.Generator`` (``None`` by default: the global one)."""
    return obj("generator", Bad("a float", lambda _g: 0.5), optional=optional)


def _planar(dim: int) -> object:
    from nfwidgets.flows import Planar

    return Planar([1.0] + [0.0] * (dim - 1), [0.5] + [0.0] * (dim - 1), 0.0)


def flow(*bads: Bad, dim: int | None = 2, optional: bool = False) -> Kind:
    """A ``Flow`` for ``dim``-D points (any dimension if ``None``): a flow of another
    dimension or a bare layer is refused; ``bads``: what else this entry point refuses."""
    from nfwidgets.flows import Flow

    others = () if dim is None else (
        Bad(f"a {dim + 1}-D flow", lambda _g: Flow([_planar(dim + 1)])),
        *((Bad(f"a {dim - 1}-D flow", lambda _g: Flow([_planar(dim - 1)])),) if dim > 1
          else ()))
    return obj("flow", *others, Bad("a layer, not a flow", lambda _g: _planar(dim or 2)),
               *bads, optional=optional)


def layer(cls: type | None = None, *bads: Bad, optional: bool = False) -> Kind:
    """A 2-D layer (of class ``cls`` if given): a 3-D layer or a layer of another kind is
    refused; ``bads``: what else this entry point refuses."""
    from nfwidgets.flows import AffineCoupling, Planar, Radial

    def three_d(_g: object) -> object:
        if cls is Radial:
            return Radial([0.0, 0.0, 0.0], 1.0, 0.5)
        if cls is AffineCoupling:
            return AffineCoupling([1, 0, 0])
        return _planar(3)

    other = () if cls is None else (Bad("another layer kind", lambda _g: Radial(
        [0.0, 0.0], 1.0, 0.5) if cls is Planar else _planar(2)),)
    return obj(getattr(cls, "__name__", "layer"), Bad("a 3-D layer", three_d), *other, *bads,
               optional=optional)


def widget(name: str, part: str) -> Kind:
    """A lesson's widget: wrong types, and the widget's ``part`` (its layer or flow) instead
    of the widget, a likely slip."""
    return obj(name, Bad(f"the widget's .{part}", lambda g: getattr(g, part)))


def config() -> Kind:
    """A model's config dict (``from_config``): an unknown key, a bad value for a key."""
    return obj("config", Bad("unknown key", lambda g: {**g, "nope": 1}),
               Bad("a bad value", lambda g: {**g, next(iter(g)): 0.5}))


def mark(cls: type) -> Kind:
    """A bqplot mark of class ``cls``: another mark is refused."""
    import bqplot

    return obj(cls.__name__, Bad("another mark", lambda _g: bqplot.Bars()))


def scales() -> Kind:
    """The ``{"x": scale, "y": scale}`` of a panel."""
    return Kind("scales", (*WRONG_TYPES, bad("int", 3), Bad("empty", lambda _g: {}),
                           Bad("not scales", lambda _g: {"x": 1, "y": 2})))
