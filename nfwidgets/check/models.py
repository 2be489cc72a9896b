r"""Checks for the exercises of lessons 09–11: flows on data (one checker per exercise).

- ``negative_elbo(my_negative_elbo, model=None, x=None)`` — lesson 09: ``my_negative_elbo(p)``
  for ``p = nfwidgets.models.flowvae.elbo_parts(...)`` returns the Monte Carlo −ELBO (one
  number), Rezende & Mohamed 2015, eq. 15:
  :math:`\overline{\ln q_0(z_0|x) - \sum_k \ln|\det J_k| - \ln p(x|z_K) - \ln p(z_K)}`.
- ``bits_per_dim(my_bpd, nll)`` — lesson 10: the bits per pixel of an 8×8 digit model whose
  mean −ln p(v) on dequantised images is ``nll`` nats,
  :math:`\text{nll}/(64\ln 2) + \log_2 17` (``nfwidgets.data.bits_per_dim``; Theis et al. 2016).
- ``pairwise_auc(my_auc, s_in=None, s_out=None)`` — lesson 11: ``my_auc(s_in, s_out)``, the
  fraction of (normal, outlier) pairs in which the outlier scores higher, a tie counting one
  half (the Mann–Whitney U statistic over its maximum; ``nfwidgets.outliers.roc_auc``).

Answers may be written any way (a float, a NumPy scalar, a 0-d tensor); a wrong answer is
matched against the catalogue (``nfwidgets.check._models_mistakes``).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from .. import data
from ..models.flowvae.model import FlowVAE, check_binary, elbo_parts
from ..outliers import roc_auc
from ._models_mistakes import BITS_PER_DIM, NEGATIVE_ELBO, PAIRWISE_AUC
from ._report import (
    SEED_MAX,
    Catalogue,
    CheckFailed,
    a_number,
    an_integer,
    instance_of,
    learner_function,
    passed,
    refuse,
)
from .training import _run, as_number

__all__ = ["bits_per_dim", "negative_elbo", "pairwise_auc"]


def _close(a: float, b: float, rel: float) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=rel)


def _number(cat: Catalogue, target: str, got: object, args: tuple, where: str,
            rel: float) -> float:
    """``got`` as a float; a malformed answer that a catalogued mistake gives gets its
    message."""
    try:
        return as_number(got, where)
    except CheckFailed as failed:
        def same(a: object, b: object) -> bool:
            ta, tb = (torch.as_tensor(v.detach() if isinstance(v, Tensor) else v).double()
                      for v in (a, b))
            return ta.shape == tb.shape and bool(torch.allclose(ta, tb, rtol=rel, atol=rel))
        m = cat.diagnose(target, got, args, same)
        raise CheckFailed(f"{failed}" + (f"\n{m.message}" if m else "")) from None


def _wrong(cat: Catalogue, target: str, value: float, args: tuple, text: str, hint: str,
           rel: float) -> None:
    m = cat.diagnose(target, value, args, lambda a, b: _close(float(a), float(b), rel))
    raise CheckFailed(f"{text}\n{m.message if m is not None else hint}")


# --- lesson 09 ---------------------------------------------------------------------------
def _one_image(x: object, check: str) -> Tensor:
    """``x`` as one binarised image (64,): a tensor, an array or a list of 0s and 1s."""
    try:
        t = torch.as_tensor(x.detach() if isinstance(x, Tensor) else x)
    except (TypeError, ValueError, RuntimeError):
        raise refuse(check, "x", x, "one binarised image, 64 pixels of 0 or 1") from None
    if t.is_complex() or t.ndim != 1:
        raise refuse(check, "x", x, "one binarised image, a tensor of shape (64,)")
    return check_binary(t, f"check.{check}: x")[0]


def negative_elbo(my_negative_elbo: object, model: FlowVAE | None = None,
                  x: Tensor | None = None, seeds: tuple[int, ...] = (0, 1, 2)) -> None:
    """Lesson 09: ``my_negative_elbo(parts)`` on draws ``elbo_parts(model, x, 500, seed)`` for
    each of ``seeds`` (default model: the shipped ``flowvae-digits``; default x: test digit 0)
    must equal the mean of ``ln q₀ − Σ ln|det J| − ln p(x|z_K) − ln p(z_K)``.

    ``model`` (a ``FlowVAE``), ``x`` (one binarised image, 64 pixels of 0 or 1) and ``seeds``
    (1 to 10 seeds) are the lesson's: anything else is a ``ValueError``."""
    check = "negative_elbo"
    learner_function(my_negative_elbo, check, "my_negative_elbo", "my_negative_elbo(parts)")
    if model is not None:
        instance_of(model, check, "model", "FlowVAE", "a trained")
    if x is not None:
        x = _one_image(x, check)
    try:
        if not (isinstance(seeds, tuple | list) and 1 <= len(seeds) <= 10):
            raise ValueError
        seeds = tuple(an_integer(s, check, "seeds") for s in seeds)
    except ValueError:
        raise refuse(check, "seeds", seeds, f"a tuple of 1 to 10 integer seeds from 0 to "
                     f"{SEED_MAX}") from None
    if model is None:
        from ..models.pretrained import load_pretrained

        model = load_pretrained("flowvae-digits")
    if x is None:
        x = data.binarize(data.digits("test"))[0]
    name = "my_negative_elbo"
    for seed in seeds:
        p = elbo_parts(model, x, 500, seed)
        shown = f"500 draws (seed {seed})"
        got = _run(NEGATIVE_ELBO, name, my_negative_elbo, (p,), shown)
        where = f"{name}({shown})"
        value = _number(NEGATIVE_ELBO, name, got, (p,), where, 1e-4)
        want = float((p.log_q0 - p.sum_log_det - p.log_px_given_z
                      - FlowVAE.log_prior(p.z_k)).mean())
        if not _close(value, want, 1e-4):
            _wrong(NEGATIVE_ELBO, name, value, (p,), f"{where}: expected −ELBO = {want:.4f}, "
                   f"got {value:.4f}.", "Four terms, averaged over the draws: the flow's "
                   "log-density at z_K, the reconstruction and the prior.", 1e-4)
    passed("my_negative_elbo is the Monte Carlo −ELBO: its four terms are exactly what "
           "FlowVAE.negative_elbo adds up.")


# --- lesson 10 ---------------------------------------------------------------------------
def bits_per_dim(my_bpd: object, nll: object) -> None:
    """Lesson 10: ``my_bpd`` is the bits per pixel of a model whose mean −ln p(v) on
    dequantised 8×8 images is ``nll`` nats per image (the lesson's number: a ``ValueError``
    unless it is a number from -10⁴ to 10⁴); ``my_bpd`` is judged whatever it is."""
    nll = a_number(nll, "bits_per_dim", "nll", lo=-1e4, hi=1e4)
    where = "my_bpd"
    value = as_number(my_bpd, where, "a number (bits per pixel)")
    want = float(data.bits_per_dim(nll))
    if not math.isfinite(value):
        raise CheckFailed(f"my_bpd is {value}: the bits/dim of a finite NLL are finite.")
    if not _close(value, want, 1e-4):
        _wrong(BITS_PER_DIM, "my_bpd", value, (nll,),
               f"my_bpd = {value:.4f} bits per pixel for nll = {nll:.4f} nats; expected "
               f"{want:.4f}.", "Three steps: nats → bits, per image → per pixel, and the "
               "dequantisation's bins.", 1e-4)
    passed(f"{value:.3f} bits per pixel: nats → bits, per pixel, plus log₂ 17 for the "
           "dequantisation bins.")


# --- lesson 11 ---------------------------------------------------------------------------
def _auc_cases(g: torch.Generator) -> list[tuple[Tensor, Tensor]]:
    cases = []
    for n_in, n_out in ((40, 40), (25, 25), (20, 35)):  # equal lengths first (paired_only)
        s_in = torch.round(torch.randn(n_in, generator=g, dtype=torch.float64) * 10) / 10
        s_out = torch.round((torch.randn(n_out, generator=g, dtype=torch.float64) + 0.8)
                            * 10) / 10  # rounded: ties happen
        cases.append((s_in, s_out))
    return cases


def _scores(value: object, check: str, name: str) -> Tensor:
    """``value`` as a 1-D float64 tensor of at least one finite real score."""
    try:
        t = torch.as_tensor(value.detach() if isinstance(value, Tensor) else value)
    except (TypeError, ValueError, RuntimeError):
        t = None
    if (t is None or t.ndim != 1 or len(t) == 0 or t.is_complex() or t.dtype == torch.bool
            or not bool(torch.isfinite(t.double()).all())):
        raise refuse(check, name, value, "a 1-D tensor of finite real scores, at least one")
    return t.double()


def pairwise_auc(my_auc: object, s_in: Tensor | None = None, s_out: Tensor | None = None,
                 seed: int = 0) -> None:
    """Lesson 11: ``my_auc(s_in, s_out)`` (scores (n,) and (m,)) returns the AUC, checked on
    random scores with ties, then on ``s_in``, ``s_out`` (the lesson's) if given: both or
    neither, each a 1-D tensor (or array, list) of finite real scores, else ``ValueError``."""
    check = "pairwise_auc"
    learner_function(my_auc, check, "my_auc", "my_auc(s_in, s_out)")
    if (s_in is None) != (s_out is None):
        given = "s_in" if s_out is None else "s_out"
        raise ValueError(f"check.{check}: give both s_in and s_out, or neither; got only "
                         f"{given}")
    if s_in is not None:
        s_in, s_out = _scores(s_in, check, "s_in"), _scores(s_out, check, "s_out")
    g = torch.Generator().manual_seed(an_integer(seed, check, "seed"))
    cases = _auc_cases(g) + ([(s_in, s_out)] if s_in is not None and s_out is not None else [])
    name = "my_auc"
    for a, b in cases:
        shown = f"s_in of shape {tuple(a.shape)}, s_out of shape {tuple(b.shape)}"
        got = _run(PAIRWISE_AUC, name, my_auc, (a, b), shown)
        where = f"{name}({shown})"
        value = _number(PAIRWISE_AUC, name, got, (a, b), where, 1e-6)
        want = roc_auc(a, b)
        if not _close(value, want, 1e-6):
            _wrong(PAIRWISE_AUC, name, value, (a, b), f"{where}: expected AUC = {want:.4f}, got "
                   f"{value:.4f}.", "Compare every outlier score with every normal score; a "
                   "tie counts one half.", 1e-6)
    passed("my_auc is the AUC from its definition (ties included); roc_auc gets the same "
           "number by sorting the scores once.")
