"""How reliable a supplier is, from its scorecard (pure). Fulfilment keeps the scores
(`supplier_scores`); routing ranks by this rate and the scorecard shows it."""

#: a supplier with no finished orders yet is rated as if 9 of its first 10 were perfect
PRIOR_PERFECT, PRIOR_WEIGHT = 9, 10


def reliability(perfect: int = 0, finished: int = 0) -> float:
    """The share of perfect orders, shrunk towards the prior while there are few of them."""
    return (perfect + PRIOR_PERFECT) / (finished + PRIOR_WEIGHT)
