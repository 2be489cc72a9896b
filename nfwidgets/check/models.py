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
from ..models.flowvae.model import FlowVAE, elbo_parts
from ..outliers import roc_auc
from ._models_mistakes import BITS_PER_DIM, NEGATIVE_ELBO, PAIRWISE_AUC
from ._report import Catalogue, CheckFailed, passed
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
def negative_elbo(my_negative_elbo: object, model: FlowVAE | None = None,
                  x: Tensor | None = None, seeds: tuple[int, ...] = (0, 1, 2)) -> None:
    """Lesson 09: ``my_negative_elbo(parts)`` on draws ``elbo_parts(model, x, 500, seed)`` for
    each of ``seeds`` (default model: the shipped ``flowvae-digits``; default x: test digit 0)
    must equal the mean of ``ln q₀ − Σ ln|det J| − ln p(x|z_K) − ln p(z_K)``."""
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
    dequantised 8×8 images is ``nll`` nats per image."""
    nll = as_number(nll, "nll")
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


def pairwise_auc(my_auc: object, s_in: Tensor | None = None, s_out: Tensor | None = None,
                 seed: int = 0) -> None:
    """Lesson 11: ``my_auc(s_in, s_out)`` (scores (n,) and (m,)) returns the AUC, checked on
    random scores with ties, then on ``s_in``, ``s_out`` (the lesson's) if given."""
    g = torch.Generator().manual_seed(seed)
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
