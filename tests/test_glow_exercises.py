"""check_bits_per_dim: the solution, a correct answer written differently, every catalogued
mistake, and things that are not numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from nfwidgets import data
from nfwidgets.models.glow.exercises import check_bits_per_dim, mistakes

NLL = 92.5  # nats per image


def test_solution_and_correct_variants_pass(capsys) -> None:
    solution = NLL / (64 * math.log(2)) + math.log2(17)
    assert check_bits_per_dim(solution, NLL).correct
    assert "✓" in capsys.readouterr().out
    # the same number written differently: bits of the density plus bits of the bins
    variant = (NLL + 64 * math.log(17)) / 64 / math.log(2)
    assert check_bits_per_dim(torch.tensor(variant), NLL)
    assert check_bits_per_dim(np.float32(variant), NLL)
    assert check_bits_per_dim(data.bits_per_dim(NLL), NLL)


@pytest.mark.parametrize("slip", list(mistakes(NLL)))
def test_each_mistake_is_named(slip: str) -> None:
    feedback = check_bits_per_dim(mistakes(NLL)[slip], NLL)
    assert not feedback.correct
    assert slip in feedback.message and "expected" in feedback.message


def test_mistakes_are_distinguishable_and_unknown_answers_get_a_hint() -> None:
    values = [*mistakes(NLL).values(), float(data.bits_per_dim(NLL))]
    assert len({round(v, 2) for v in values}) == len(values)
    feedback = check_bits_per_dim(1.0, NLL)
    assert not feedback.correct and "Hint" in feedback.message


@pytest.mark.parametrize("bad", ["two", None, float("nan"), [1.0, 2.0]])
def test_non_numbers_are_refused_kindly(bad: object) -> None:
    feedback = check_bits_per_dim(bad, NLL)
    assert not feedback.correct and "✗" in feedback.message
