"""Procedural chest-radiograph phantoms for the demo archive.

A phantom is drawn analytically on a rotated, scaled and shifted coordinate grid, so no
resampling blurs it. Three groups of parameters drive it:

* ``Patient`` — what stays the same for one subject across studies: body size, exposure,
  where the burned-in markers sit, whether lines and devices are present. These are the
  nuisances that make whole-image similarity a poor proxy for disease.
* ``Finding`` — the pathology: pleural effusion (costophrenic blunting at low severity,
  then a meniscus that rises with severity; left, right or bilateral) and pneumonia
  (patchy consolidation whose extent grows with severity).
* the view: PA, AP (magnified heart, higher clavicles, "portable" marker) or LATERAL.

``render`` returns the image in [0, 1] and the lung mask (before pathology), which the
demo stores in its sidecar as ground truth for segmentation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage


@dataclass
class Patient:
    """Subject-level nuisance parameters (stable across studies)."""

    body_width: float = 0.85  # half-width of the body, in normalised units
    lung_scale: float = 1.0
    gamma: float = 1.0
    contrast: float = 1.0
    brightness: float = 0.0
    noise: float = 0.02
    marker_corner: int = 0  # 0..3: where the burned-in side marker sits
    text_block: bool = False
    ecg_leads: int = 0
    line_device: bool = False
    border: float = 0.0  # width of a black collimation border, as a fraction

    @classmethod
    def sample(cls, rng: np.random.Generator) -> Patient:
        return cls(
            body_width=float(rng.uniform(0.72, 0.98)),
            lung_scale=float(rng.uniform(0.88, 1.1)),
            gamma=float(np.exp(rng.normal(0.0, 0.25))),
            contrast=float(rng.uniform(0.7, 1.25)),
            brightness=float(rng.normal(0.0, 0.08)),
            noise=float(rng.uniform(0.01, 0.05)),
            marker_corner=int(rng.integers(0, 4)),
            text_block=bool(rng.random() < 0.5),
            ecg_leads=int(rng.integers(0, 5)) if rng.random() < 0.4 else 0,
            line_device=bool(rng.random() < 0.3),
            border=float(rng.uniform(0.0, 0.08)) if rng.random() < 0.4 else 0.0,
        )


@dataclass
class Finding:
    """Pathology of one study. Severities are in [0, 1]; 0 means absent."""

    effusion: float = 0.0
    effusion_side: str = "none"  # left | right | bilateral | none (patient's side)
    pneumonia: float = 0.0
    pneumonia_side: str = "none"
    pneumonia_seed: int = 0


@dataclass
class Pose:
    """Study-level pose: small rotation and shift of the patient in the field."""

    angle_deg: float = 0.0
    shift_x: float = 0.0
    shift_y: float = 0.0
    inspiration: float = 1.0  # lung height factor

    @classmethod
    def sample(cls, rng: np.random.Generator) -> Pose:
        return cls(
            angle_deg=float(rng.normal(0.0, 4.0)),
            shift_x=float(rng.normal(0.0, 0.05)),
            shift_y=float(rng.normal(0.0, 0.05)),
            inspiration=float(rng.uniform(0.88, 1.08)),
        )


@dataclass
class Phantom:
    image: np.ndarray  # float32 in [0, 1], shape (rows, cols)
    lung_mask: np.ndarray = field(repr=False)  # bool, shape (rows, cols)


def _grid(rows: int, cols: int, pose: Pose) -> tuple[np.ndarray, np.ndarray]:
    """Normalised coordinates: u across (image left = patient's right), v down, in [-1, 1]."""
    aspect = cols / rows
    v, u = np.mgrid[-1 : 1 : complex(0, rows), -aspect : aspect : complex(0, cols)]
    a = np.deg2rad(pose.angle_deg)
    ur = np.cos(a) * u + np.sin(a) * v - pose.shift_x
    vr = -np.sin(a) * u + np.cos(a) * v - pose.shift_y
    return ur.astype(np.float32), vr.astype(np.float32)


def _ellipse(u, v, cu, cv, ru, rv, soft=0.02):
    d = np.sqrt(((u - cu) / ru) ** 2 + ((v - cv) / rv) ** 2)
    return np.clip((1.0 - d) / soft + 0.5, 0.0, 1.0)


def _smoothstep(x, soft):
    return np.clip(x / soft + 0.5, 0.0, 1.0)


def _lung_regions(u, v, patient: Patient, pose: Pose, frontal_ap: bool):
    """Return (right_lung, left_lung, dome_level_right, dome_level_left, geometry dict)."""
    s = patient.lung_scale
    h = 0.56 * pose.inspiration * s
    top = -0.62
    base = top + 2 * h
    lungs = []
    domes = []
    for side, cu in (("right", -0.36 * s), ("left", 0.36 * s)):
        rw = 0.27 * s
        # Lung: ellipse top, cut below by the diaphragm dome, which is higher on the
        # patient's right (image left), lateral costophrenic angle deepest.
        body = _ellipse(u, v, cu, top + h, rw, h * 1.05, soft=0.03)
        dome_peak = base - (0.06 if side == "right" else 0.02)
        dome = dome_peak - 0.05 + 0.35 * ((u - cu) / rw) ** 2 * 0.35
        dome = np.minimum(dome, dome_peak + 0.10)
        below = _smoothstep(dome - v, 0.02)
        # the mediastinum cuts the medial edge
        medial = _smoothstep(np.abs(u) - (0.10 + (0.05 if frontal_ap else 0.03)), 0.02)
        lungs.append(body * below * medial)
        domes.append(dome)
    geom = {"top": top, "base": base, "h": h, "s": s}
    return lungs[0], lungs[1], domes[0], domes[1], geom


def _render_frontal(rows, cols, patient, finding, pose, ap, rng):
    u, v = _grid(rows, cols, pose)
    img = np.full((rows, cols), 0.04, np.float32)
    bw = patient.body_width
    body = _ellipse(u, v, 0.0, 0.2, bw, 1.35, soft=0.05)
    img += 0.36 * body
    # shoulders / arms at the sides
    img += 0.10 * _ellipse(u, v, -bw * 0.95, -0.55, 0.22, 0.5) * body
    img += 0.10 * _ellipse(u, v, bw * 0.95, -0.55, 0.22, 0.5) * body
    right, left, dome_r, dome_l, g = _lung_regions(u, v, patient, pose, ap)
    lung = np.clip(right + left, 0, 1)
    lung_mask = lung > 0.5
    # air in lungs darkens; vessels add faint texture
    texture = ndimage.gaussian_filter(rng.normal(0, 1, (rows, cols)).astype(np.float32), 2.0)
    img -= 0.28 * lung * (1 - 0.25 * np.clip(texture, -1, 1))
    # hila / vessels radiating from hilum
    for cu in (-0.15, 0.15):
        img += 0.06 * _ellipse(u, v, cu, -0.1, 0.08, 0.14, soft=0.5) * lung
    # spine and mediastinum
    img += 0.22 * _smoothstep(0.07 - np.abs(u), 0.02) * body
    img += 0.18 * _ellipse(u, v, 0.0, -0.2, 0.12, 0.5, soft=0.1)
    # heart: magnified on AP films
    hw = (0.33 if ap else 0.27) * g["s"]
    img += 0.32 * _ellipse(u, v, 0.08, g["base"] - 0.28, hw, 0.26, soft=0.06)
    # ribs: curved bands within the body (posterior ribs), fade at the centre
    for k in range(10):
        v0 = -0.72 + 0.135 * k
        for sgn in (-1, 1):
            curve = v0 + 0.22 * (u * sgn - 0.15) ** 2 - 0.05 * (u * sgn)
            band = _smoothstep(0.018 - np.abs(v - curve), 0.008)
            side = _smoothstep(u * sgn - 0.08, 0.02) * _smoothstep(bw * 0.9 - u * sgn, 0.05)
            img += 0.07 * band * side * body
    # clavicles: higher and more horizontal on AP
    cl_v = -0.78 if ap else -0.70
    for sgn in (-1, 1):
        curve = cl_v + (0.02 if ap else 0.08) * (u * sgn) + 0.05 * (u * sgn) ** 2
        band = _smoothstep(0.025 - np.abs(v - curve), 0.01)
        img += 0.14 * band * _smoothstep(0.62 - np.abs(u), 0.03) * (np.abs(u) > 0.05)
    # abdomen below the diaphragm
    below_diaphragm = _smoothstep(v - np.where(u < 0, dome_r, dome_l) - 0.02, 0.03)
    img += 0.12 * below_diaphragm * body * (1 - lung)
    img = _add_effusion(img, u, v, right, left, dome_r, dome_l, g, finding)
    img = _add_pneumonia(img, u, v, right, left, g, finding, rows, cols)
    return img, lung_mask, u, v


def _add_effusion(img, u, v, right, left, dome_r, dome_l, g, f: Finding):
    if f.effusion <= 0:
        return img
    sides = {"right": (right, dome_r, -1), "left": (left, dome_l, 1)}
    chosen = ["right", "left"] if f.effusion_side == "bilateral" else [f.effusion_side]
    for name in chosen:
        region, dome, sgn = sides[name]
        # fluid fills from the costophrenic angle upwards; the meniscus rises laterally.
        level = g["base"] - (0.05 + 0.85 * f.effusion) * g["h"]
        lateral = np.clip((u * sgn - 0.1) / (0.35 * g["s"]), 0, 1.5)
        meniscus = level - 0.18 * f.effusion * lateral**2 - 0.05 * lateral
        fluid = _smoothstep(v - meniscus, 0.03 + 0.02 * f.effusion)
        img = img + 0.30 * fluid * region
        # blunting of the costophrenic angle: fill the lateral corner
        corner = _ellipse(u, v, sgn * 0.55 * g["s"], g["base"] - 0.02, 0.12, 0.10, soft=0.3)
        img = img + 0.2 * min(1.0, 4 * f.effusion) * corner * region
    return img


def _add_pneumonia(img, u, v, right, left, g, f: Finding, rows, cols):
    if f.pneumonia <= 0:
        return img
    prng = np.random.default_rng(f.pneumonia_seed)
    field = ndimage.gaussian_filter(prng.normal(0, 1, (rows, cols)).astype(np.float32), 5.0)
    field = (field - field.mean()) / (field.std() + 1e-6)
    if f.pneumonia_side == "bilateral":
        region = np.clip(right + left, 0, 1)
    else:
        region = right if f.pneumonia_side == "right" else left
    # bias towards the lower zones, where pneumonia is most often seen
    zone = _smoothstep(v - (g["top"] + 0.6 * g["h"]), 0.4)
    score = field + 1.2 * zone
    inside = score[region > 0.5]
    if inside.size == 0:
        return img
    # extent grows with severity: threshold at the (1 - extent) quantile inside the lung
    extent = 0.08 + 0.6 * f.pneumonia
    thr = np.quantile(inside, 1.0 - extent)
    patch = _smoothstep(score - thr, 0.6) * region
    patch = ndimage.gaussian_filter(patch, 1.5)
    return img + (0.22 + 0.12 * f.pneumonia) * patch


def _render_lateral(rows, cols, patient, finding, pose, rng):
    u, v = _grid(rows, cols, pose)
    img = np.full((rows, cols), 0.04, np.float32)
    bw = patient.body_width * 0.9
    body = _ellipse(u, v, 0.0, 0.2, bw, 1.35, soft=0.05)
    img += 0.40 * body
    s = patient.lung_scale
    lung = _ellipse(u, v, -0.02, -0.05, 0.5 * s, 0.62 * s * pose.inspiration, soft=0.03)
    dome = 0.45 * s + 0.15 * u
    lung = lung * _smoothstep(dome - v, 0.02)
    texture = ndimage.gaussian_filter(rng.normal(0, 1, (rows, cols)).astype(np.float32), 2.0)
    img -= 0.26 * lung * (1 - 0.25 * np.clip(texture, -1, 1))
    img += 0.28 * _ellipse(u, v, -0.22, 0.2, 0.25, 0.28, soft=0.08)  # heart, anterior
    img += 0.30 * _smoothstep(0.08 - np.abs(u - 0.48 * bw), 0.02) * body  # spine, posterior
    if finding.effusion > 0:
        # posterior costophrenic sulcus fills first
        level = dome - (0.05 + 0.5 * finding.effusion)
        fluid = _smoothstep(v - level + 0.25 * np.clip(u, 0, 1), 0.04)
        img += 0.25 * fluid * lung
    if finding.pneumonia > 0:
        prng = np.random.default_rng(finding.pneumonia_seed)
        field = ndimage.gaussian_filter(prng.normal(0, 1, (rows, cols)).astype(np.float32), 5.0)
        thr = np.quantile(field[lung > 0.5], 1 - (0.08 + 0.5 * finding.pneumonia))
        img += 0.25 * _smoothstep(field - thr, 0.5) * lung
    return img, lung > 0.5, u, v


def _burn_in(img, u, v, patient: Patient, view: str, rows, cols, rng):
    """Burned-in markers, text and devices: bright, high-contrast, patient-specific."""
    corner = patient.marker_corner
    cy = -0.85 if corner < 2 else 0.82
    cx = (-0.8 if corner % 2 == 0 else 0.8) * cols / rows
    # an "L"/"R"-like glyph: two bars
    letter = _smoothstep(0.012 - np.abs(u - cx), 0.004) * _smoothstep(0.06 - np.abs(v - cy), 0.004)
    letter = np.maximum(
        letter,
        _smoothstep(0.012 - np.abs(v - cy - 0.05), 0.004)
        * _smoothstep(0.035 - np.abs(u - cx - 0.03), 0.004),
    )
    img = np.maximum(img, 0.98 * letter)
    if patient.text_block or view == "AP":
        # a row of "characters" along the top, e.g. hospital name or PORTABLE
        ty = -0.92
        n_chars = 9 if view == "AP" else 6
        x0 = -0.3 * cols / rows
        for i in range(n_chars):
            xc = x0 + i * 0.05
            ch = _smoothstep(0.015 - np.abs(u - xc), 0.004) * _smoothstep(
                0.025 - np.abs(v - ty), 0.004
            )
            img = np.maximum(img, 0.9 * ch)
    for i in range(patient.ecg_leads):
        lu = -0.5 + 0.25 * i + rng.normal(0, 0.03)
        lv = -0.75 + 0.1 * (i % 2) + rng.normal(0, 0.03)
        img = np.maximum(img, 0.95 * _ellipse(u, v, lu, lv, 0.035, 0.035, soft=0.3))
    if patient.line_device:
        # a central line / tube: a thin bright curve from the neck
        path = 0.12 + 0.25 * (v + 1.0) ** 2 * 0.2
        line = _smoothstep(0.008 - np.abs(u - path), 0.003) * (v < 0.1) * (v > -1.0)
        img = np.maximum(img, 0.85 * line)
    return img


def render(
    rows: int,
    cols: int,
    view: str,
    patient: Patient,
    finding: Finding,
    pose: Pose,
    rng: np.random.Generator,
) -> Phantom:
    """Draw one radiograph of ``rows`` x ``cols`` pixels; view is PA, AP or LATERAL."""
    if view == "LATERAL":
        img, lung_mask, u, v = _render_lateral(rows, cols, patient, finding, pose, rng)
    elif view in ("PA", "AP"):
        img, lung_mask, u, v = _render_frontal(
            rows, cols, patient, finding, pose, view == "AP", rng
        )
    else:
        raise ValueError(f"unknown view {view!r}")
    img = _burn_in(img, u, v, patient, view, rows, cols, rng)
    # exposure: gamma, contrast and brightness of the patient's films
    img = np.clip(img, 0, 1) ** patient.gamma
    img = (img - 0.5) * patient.contrast + 0.5 + patient.brightness
    img += rng.normal(0, patient.noise, img.shape).astype(np.float32)
    if patient.border > 0:
        b = int(patient.border * cols)
        img[:, :b] = 0.0
        img[:, cols - b :] = 0.0
    return Phantom(np.clip(img, 0, 1).astype(np.float32), lung_mask)
