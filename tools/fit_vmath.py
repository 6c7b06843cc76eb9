"""Fits the polynomial coefficients of crates/kerust/src/kernels/vmath.rs.

Near-minimax fits (Lawson's iteratively reweighted least squares on a dense grid) of

- exp(r) = 1 + r + r^2 * P(r) on |r| <= ln(2)/2, P of degree 4, minimizing the relative
  error of exp(r);
- tanh(x) = x + x^3 * Q(x^2) on |x| <= 0.55, Q of degree 4 in x^2, minimizing the relative
  error of tanh(x).

Prints each coefficient rounded to float32, and the fit's error (in float32 ulps of the
result, in exact arithmetic: the rounding of the float32 evaluation comes on top of it).

Usage: tools/.venv/bin/python tools/fit_vmath.py
"""

import numpy as np


def lawson(basis, target, weight, iters=400):
    """Weighted minimax fit of `target ~ basis @ c` by Lawson's algorithm."""
    a = basis * weight[:, None]
    b = target * weight
    lw = np.full(len(b), 1.0 / len(b))
    for _ in range(iters):
        s = np.sqrt(lw)
        c, *_ = np.linalg.lstsq(a * s[:, None], b * s, rcond=None)
        err = np.abs(a @ c - b)
        lw = lw * err
        lw /= lw.sum()
    return c, np.max(np.abs(a @ c - b))


def exp_fit():
    half = np.log(2.0) / 2
    r = np.linspace(-half, half, 20001)
    r = r[r != 0.0]
    target = (np.exp(r) - 1.0 - r) / r**2
    basis = np.stack([r**k for k in range(5)], axis=1)
    # Relative error of exp(r) = r^2 * error(P) / exp(r).
    c, err = lawson(basis, target, r**2 / np.exp(r))
    return c.astype(np.float32), err


def tanh_fit(bound=0.55, degree=4):
    x = np.linspace(1e-4, bound, 20001)
    u = x * x
    target = (np.tanh(x) - x) / x**3
    basis = np.stack([u**k for k in range(degree + 1)], axis=1)
    c, err = lawson(basis, target, x**3 / np.tanh(x))
    return c.astype(np.float32), err


def shortest(c):
    """The shortest decimal that reads back as each float32 coefficient."""
    return ", ".join(np.format_float_positional(v, unique=True) for v in c)


def main():
    eps = 2.0**-23
    c, err = exp_fit()
    print("exp: P(r) coefficients r^0..r^4:", shortest(c))
    print(f"  fit error {err:.3e} = {err / eps:.4f} ulp")
    q, err = tanh_fit()
    print("tanh: Q(u) coefficients u^0..u^4:", shortest(q))
    print(f"  fit error {err:.3e} = {err / eps:.4f} ulp")


if __name__ == "__main__":
    main()
