"""Scores of what the run produced, with intervals: nDCG against the experts,
recall@k and KNN diagnosis, severity r/MAE, AUC, Dice by source, the verdicts."""
