"""How much a voter's answers are worth, from their answers to gold items (known answers).

Pure arithmetic, so the rules can be read and tested on their own.
"""

import math


def wilson_bounds(correct: int, answered: int, z: float) -> tuple[float, float]:
    """Wilson score interval for an accuracy of correct/answered at z standard deviations."""
    if answered <= 0:
        return 0.0, 1.0
    p = correct / answered
    z2 = z * z
    centre = p + z2 / (2 * answered)
    spread = z * math.sqrt(p * (1 - p) / answered + z2 / (4 * answered * answered))
    scale = 1 + z2 / answered
    return max(0.0, (centre - spread) / scale), min(1.0, (centre + spread) / scale)


def passes_training(*, correct: int, answered: int, min_answered: int, bound: float, z: float):
    """Enough gold answered, and accuracy confidently at or above the bound."""
    return answered >= min_answered and wilson_bounds(correct, answered, z)[0] >= bound


def fails_gold_checks(*, correct: int, answered: int, bound: float, z: float) -> bool:
    """Accuracy confidently below the bound: the upper end of the interval is under it.

    Using the upper end (not the point estimate) keeps one unlucky answer from flipping a
    voter back and forth between counted and not counted.
    """
    return answered > 0 and wilson_bounds(correct, answered, z)[1] < bound


def log_odds_weight(
    *, successes: float, trials: float, cap: float, prior_successes=1.0, prior_trials=2.0
) -> float:
    """Log-odds of an estimated accuracy (the posterior mean under a Beta prior), capped.

    A voter no better than chance adds no evidence; a perfect record is capped so no single
    voter decides an item alone.
    """
    accuracy = (successes + prior_successes) / (trials + prior_trials)
    if accuracy <= 0.5:
        return 0.0
    if accuracy >= 1.0:
        return cap
    return min(cap, math.log(accuracy / (1 - accuracy)))


def vote_weight(*, correct: int, answered: int, cap: float) -> float:
    """Weight from gold answers (a uniform prior: no record is worth nothing)."""
    return log_odds_weight(successes=correct, trials=answered, cap=cap)


def alarm_step(alarm: float, *, agreed: bool, expected: float, suspect: float) -> float:
    """One step of a CUSUM change detector on a voter's agreement.

    It adds the log-likelihood ratio of the answer under "agrees at `suspect`" against
    "agrees at `expected`" and never falls below zero, so a long honest record cannot bank
    credit against a sudden turn: a run of disagreements raises it within a few answers.
    """
    ratio = suspect / expected if agreed else (1 - suspect) / (1 - expected)
    return max(0.0, alarm + math.log(ratio))
