"""Writes a LIBERO-layout HDF5 file (data/demo_<i>/actions, float64 [T, 7]) with h5py, for `npm run bench:phase1`.

The actions are sums of sinusoids, unlike the embedded demo's reach/grasp/move/release segments: each of the 6
delta-pose dimensions is a mix of three sines with random frequencies and phases per demo, scaled to
LIBERO-spatial-like spreads (std 0.41, 0.35, 0.51, 0.037, 0.072, 0.058), plus small noise; the gripper is
-1/+1 and switches one to three times per demo. Episode lengths are 140-220 steps. Deterministic by seed.
"""

import argparse
import sys

import h5py
import numpy as np

SPREADS = np.array([0.41, 0.35, 0.51, 0.037, 0.072, 0.058])


def demo_actions(rng):
    steps = int(rng.integers(140, 221))
    t = np.arange(steps, dtype=np.float64)[:, None]
    freqs = rng.uniform(0.005, 0.05, size=(3, 6))
    phases = rng.uniform(0, 2 * np.pi, size=(3, 6))
    weights = rng.uniform(0.3, 1.0, size=(3, 6))
    wave = sum(weights[k] * np.sin(2 * np.pi * freqs[k] * t + phases[k]) for k in range(3))
    wave = wave / np.sqrt((weights**2).sum(0) / 2)
    pose = SPREADS * (wave + 0.05 * rng.standard_normal((steps, 6)))
    switches = np.sort(rng.choice(np.arange(10, steps - 10), size=int(rng.integers(1, 4)), replace=False))
    gripper = np.where(np.searchsorted(switches, np.arange(steps), side="right") % 2 == 0, -1.0, 1.0)
    return np.concatenate([pose, gripper[:, None]], axis=1)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--demos", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    rows = 0
    with h5py.File(args.out, "w") as f:
        data = f.create_group("data")
        for i in range(args.demos):
            actions = demo_actions(rng)
            rows += actions.shape[0]
            data.create_group(f"demo_{i}").create_dataset("actions", data=actions)
        data.attrs["total"] = rows
    print(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
