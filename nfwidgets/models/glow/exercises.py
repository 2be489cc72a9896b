"""Checked exercise of lesson 09: bits per dimension from a negative log-likelihood in nats.

``check_bits_per_dim(answer, nll_nats)`` compares a learner's answer with
``bpd = nll / (64 ln 2) + log₂ 17`` (``nfwidgets.data.bits_per_dim``) and, when it is wrong,
names the typical mistake whose result it matches.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ... import data

__all__ = ["Feedback", "check_bits_per_dim", "mistakes"]

LN2, LOG2_LEVELS, DIMS = math.log(2.0), math.log2(data.LEVELS), data.PIXELS


@dataclass(frozen=True)
class Feedback:
    """``correct`` and a message naming the expected value, the answer and the likely slip."""

    correct: bool
    message: str

    def __repr__(self) -> str:
        return self.message

    def __bool__(self) -> bool:
        return self.correct


def mistakes(nll_nats: float) -> dict[str, float]:
    """Typical wrong answers for ``nll_nats`` and what each one forgot."""
    n = nll_nats
    return {
        "forgot the + log₂ 17: v lives on [0, 1), each level's interval has width 1/17, "
        "so P(k) ≥ p(v)·(1/17)^64 adds log₂ 17 bits per pixel": n / (DIMS * LN2),
        "stayed in nats (ln instead of log₂): divide the nats by ln 2, and use log₂ 17, "
        "not ln 17": n / DIMS + math.log(data.LEVELS),
        "divided by 64 but kept nats: divide by ln 2 as well": n / DIMS + LOG2_LEVELS,
        "forgot to divide by the 64 pixels: bits/dim is per pixel": n / LN2 + LOG2_LEVELS,
        "multiplied by ln 2 instead of dividing: bits = nats / ln 2":
            n * LN2 / DIMS + LOG2_LEVELS,
        "subtracted log₂ 17 instead of adding it: P(k) ≥ p(v)·(1/17)^64, the 1/17 is a "
        "width, which costs bits": n / (DIMS * LN2) - LOG2_LEVELS,
        "used +ln p(v) (the log-likelihood) instead of -ln p(v)": -n / (DIMS * LN2) + LOG2_LEVELS,
    }


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-3, abs_tol=1e-3)


def check_bits_per_dim(answer: object, nll_nats: float) -> Feedback:
    """Check ``answer``: the bits per pixel of an 8×8 digit model whose mean ``-ln p(v)`` on
    dequantised images is ``nll_nats`` nats per image. Prints and returns ``Feedback``."""
    expected = float(data.bits_per_dim(float(nll_nats)))
    try:
        got = float(answer)
    except (TypeError, ValueError):
        feedback = Feedback(False, f"✗ expected a number (bits per pixel); got {answer!r}. "
                                   "Replace the ... with your formula.")
    else:
        if not math.isfinite(got):
            feedback = Feedback(False, f"✗ got {got}: bits/dim of a finite NLL is finite.")
        elif _close(got, expected):
            feedback = Feedback(True, f"✓ {got:.3f} bits per pixel: -ln p(v) / (64 ln 2) + "
                                      "log₂ 17. Correct.")
        else:
            slip = next((why for why, value in mistakes(float(nll_nats)).items()
                         if _close(got, value)), None)
            hint = f" Likely slip: you {slip}." if slip else (
                " Hint: nats → bits divides by ln 2, per pixel divides by 64, and the "
                "dequantisation adds log₂ 17.")
            feedback = Feedback(False, f"✗ expected {expected:.3f} bits per pixel; got "
                                       f"{got:.3f}.{hint}")
    print(feedback.message)
    return feedback
