"""Lung segmentation ensemble (Zhong et al.): five smp networks, averaged, cleaned up.

Used as a preprocessing stage so that retrieval models see lungs, not the burned-in
letters and borders that give away a film's hospital.
"""
