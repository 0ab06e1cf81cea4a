"""Training loops: binary classifiers (CNN, IG, ATT) and metric-learning embeddings."""
