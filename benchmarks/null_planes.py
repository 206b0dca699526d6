"""How far the output-null planes of make_reaching_dynamics's teacher are from being linear
functions of its output planes, on the noise-free condition means.

    python benchmarks/null_planes.py

For each setting it fits, by least squares over conditions and time bins after the go cue, the
null planes' latent trajectories from the output planes' ones (with an intercept) and prints the
unexplained fraction of their variance (1 - R^2). 0 means the outputs' planes determine the null
planes up to a linear map, which CCA cannot tell apart.
"""

import numpy as np

from motorsrnn.datasets import make_reaching_dynamics


def unexplained(n_timesteps: int, frequency_spread: float = 1.0, seed: int = 0) -> float:
    d = make_reaching_dynamics(n_null_rotations=2, n_timesteps=n_timesteps, frequency_spread=frequency_spread,
                               noise=0.0, prep_noise=0.0, n_trials_per_condition=1, random_state=seed)
    go = int(np.argmin(np.abs(d.times)))
    z = d.latents[:, go:].reshape(-1, d.latents.shape[2]).astype(np.float64)
    n_out = z.shape[1] - 4  # the two null planes come last
    A = np.column_stack([np.ones(len(z)), z[:, :n_out]])
    null = z[:, n_out:]
    resid = null - A @ np.linalg.lstsq(A, null, rcond=None)[0]
    return float((resid**2).sum() / ((null - null.mean(0)) ** 2).sum())


def main() -> None:
    print("1 - R^2 of the null planes' condition means from the output planes' (after the go cue):")
    for steps, label in ((300, "default: 250 ms after the go cue"), (800, "750 ms after the go cue")):
        values = [unexplained(steps, seed=s) for s in range(5)]
        print(f"  {label:<34s} {np.mean(values):.2e} (seeds 0-4: {', '.join(f'{v:.1e}' for v in values)})")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        print(f"  {'frequency_spread=0, 250 ms':<34s} {unexplained(300, frequency_spread=0.0):.2e}")


if __name__ == "__main__":
    main()
