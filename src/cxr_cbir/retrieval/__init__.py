"""Ranking: embedding distances, the SSIM baseline, the exact nearest-neighbour
index, the severity readout."""
