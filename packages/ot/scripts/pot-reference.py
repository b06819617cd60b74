#!/usr/bin/python3
"""Reference solutions from POT (Python Optimal Transport) for @crossrank/ot's agreement tests.

Generates random entropic-OT problems with a fixed seed, solves each with POT's log-domain
Sinkhorn (ot.bregman.sinkhorn_log, float64) to convergence, and writes the inputs and POT's
outputs as JSON.

Usage (Debian's python3-pot: /usr/bin/python3 with numpy, scipy and ot):

    /usr/bin/python3 packages/ot/scripts/pot-reference.py              # the committed fixture
    /usr/bin/python3 packages/ot/scripts/pot-reference.py --quick --seed 7 --out -   # 3 small cases to stdout

Problems on which POT does not reach the threshold within the iteration limit are redrawn (see
make_case). Each case stores the point clouds x (n×d) and y (m×d) and the cost kind rather than the n×m cost,
to keep the file small: "cosine" is ot.dist(x, y, "cosine") = 1 − cos(x_i, y_j) and
"sqeuclidean" is ot.dist(x, y, "sqeuclidean") / costScale. For n·m <= 200 the cost itself is also
stored, to check the geometry. Weights a, b are null (uniform) or raw non-negative weights, some
zero, which POT receives normalized to sum 1. All inputs are rounded to 12 significant digits
*before* solving, so the stored inputs are exactly the problem POT solved; outputs (plan, cost)
are rounded to 12 significant digits, plan entries below 1e-16 stored as 0.
"""
import argparse
import json
import sys
import warnings

import numpy as np
import ot

REGS = [10.0, 1.0, 0.1, 0.01, 0.001]
KINDS = ["cosine", "sqeuclidean"]
NUM_ITER_MAX = 100_000
STOP_THR = 1e-12
MAX_DRAWS = 10
PLAN_FLOOR = 1e-16  # plan entries below are stored as 0 (plans sum to 1; saves space at small reg)


def r12(values):
    """Rounds to 12 significant digits (what the JSON holds)."""
    return np.vectorize(lambda v: float(f"{v:.12g}"), otypes=[float])(np.asarray(values, dtype=float))


def case_specs(quick):
    """(n, m, reg, kind, uniform) of every case."""
    if quick:
        return [(4, 9, 0.05, "cosine", False), (6, 11, 0.005, "sqeuclidean", True), (10, 13, 0.5, "cosine", False)]
    specs = []
    # Small sizes: every reg x cost kind x marginal kind.
    for n, m in [(3, 7), (5, 12), (8, 20)]:
        for reg in REGS:
            for kind in KINDS:
                for uniform in [True, False]:
                    specs.append((n, m, reg, kind, uniform))
    # 16x50: every reg x cost kind, marginals alternating.
    for r, reg in enumerate(REGS):
        for k, kind in enumerate(KINDS):
            specs.append((16, 50, reg, kind, (r + k) % 2 == 0))
    # 32x120: every reg once, kinds and marginals alternating.
    for r, reg in enumerate(REGS):
        specs.append((32, 120, reg, KINDS[r % 2], r % 3 == 0))
    # 64x300 (a long document): two cases, a cosine one with idf-like weights.
    specs.append((64, 300, 0.01, "cosine", False))
    specs.append((64, 300, 0.001, "sqeuclidean", True))
    return specs


def weights(rng, size, zero):
    """Raw non-negative weights (exponential, like idf spreads), with one zero weight if asked."""
    w = rng.exponential(1.0, size) + 0.05
    if zero:
        w[rng.integers(size)] = 0.0
    return r12(w)


def make_case(rng, index, n, m, reg, kind, uniform):
    """Draws problems until POT solves one to STOP_THR within NUM_ITER_MAX iterations.

    Redraws skip near-degenerate problems (two almost equally good assignments at small reg), on
    which Sinkhorn converges so slowly that no solver reaches reference accuracy; `draws` counts them.
    """
    for draw in range(1, MAX_DRAWS + 1):
        case = draw_case(rng, index, n, m, reg, kind, uniform)
        if case is not None:
            case["draws"] = draw
            return case
    raise SystemExit(f"case {index} ({n}x{m}, reg {reg}, {kind}): POT did not converge in {MAX_DRAWS} draws")


def draw_case(rng, index, n, m, reg, kind, uniform):
    if kind == "cosine":
        d = 16
        # A common offset makes the cosines mostly positive, as with contextual embeddings.
        offset = rng.normal(0.0, 1.0, d) * 0.7
        x = r12(rng.normal(0.0, 1.0, (n, d)) + offset)
        y = r12(rng.normal(0.0, 1.0, (m, d)) + offset)
        scale = 1.0
        cost = ot.dist(x, y, "cosine")
    else:
        d = 2 + index % 3
        x = r12(rng.normal(0.0, 1.0, (n, d)))
        y = r12(rng.normal(0.5, 1.2, (m, d)))
        raw = ot.dist(x, y, "sqeuclidean")
        scale = float(r12(raw.max()))
        cost = raw / scale
    if uniform:
        wa, wb = None, None
        a, b = np.full(n, 1.0 / n), np.full(m, 1.0 / m)
    else:
        wa = weights(rng, n, zero=n >= 5 and index % 2 == 0)
        wb = weights(rng, m, zero=m >= 5 and index % 3 == 0)
        a, b = wa / wa.sum(), wb / wb.sum()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # log(0) for zero weights
        plan, log = ot.bregman.sinkhorn_log(a, b, cost, reg, numItermax=NUM_ITER_MAX, stopThr=STOP_THR, log=True, warn=False)
    err = float(log["err"][-1])
    if not err < STOP_THR:
        return None
    case = {
        "id": f"{index:03d}-{n}x{m}-{kind}-{'uniform' if uniform else 'weighted'}-reg{reg:g}",
        "n": n,
        "m": m,
        "reg": reg,
        "costKind": kind,
        "costScale": scale,
        "x": x.tolist(),
        "y": y.tolist(),
        "a": None if wa is None else wa.tolist(),
        "b": None if wb is None else wb.tolist(),
    }
    if n * m <= 200:
        case["cost"] = r12(cost).tolist()
    case["pot"] = {
        "plan": r12(np.where(plan < PLAN_FLOOR, 0.0, plan)).tolist(),
        "cost": float(r12(np.sum(plan * cost))),
        "iterations": int(log["niter"]) + 1,
        "marginalError": err,
    }
    return case


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=20240613)
    parser.add_argument("--quick", action="store_true", help="three small cases only (for the live test)")
    parser.add_argument("--out", default=None, help="output file, - for stdout (default: test/fixtures/pot-reference.json)")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    cases = [make_case(rng, i, *spec) for i, spec in enumerate(case_specs(args.quick))]
    document = {
        "generator": "packages/ot/scripts/pot-reference.py" + (" --quick" if args.quick else "") + f" --seed {args.seed}",
        "pot": ot.__version__,
        "numpy": np.__version__,
        "solver": f"ot.bregman.sinkhorn_log(a, b, cost, reg, numItermax={NUM_ITER_MAX}, stopThr={STOP_THR:g})",
        "note": "inputs exact as solved; plan and cost rounded to 12 significant digits, plan entries < 1e-16 as 0; "
        "pot.marginalError is POT's stopping error, the L2 norm of the column-sum error",
        "cases": cases,
    }
    text = json.dumps(document, separators=(",", ":")) + "\n"
    if args.out == "-":
        sys.stdout.write(text)
        return
    import pathlib

    out = pathlib.Path(args.out) if args.out else pathlib.Path(__file__).resolve().parent.parent / "test" / "fixtures" / "pot-reference.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(f"{len(cases)} cases, {len(text) / 1e6:.2f} MB -> {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
