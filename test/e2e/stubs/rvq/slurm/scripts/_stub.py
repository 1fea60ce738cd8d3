"""STUB helpers shared by the stub scripts in this folder (tests only; not part of RVQExperiment).

The numbers the stubs print are made up, deterministically, from RVQ_STUB_* environment variables:
they are inputs for rfsq's extractor tests, never measurements.
"""
import hashlib
import os


def number(name, default):
    return float(os.environ.get(name, default))


def unit(text):
    """A deterministic pseudo-random number in [0, 1) from a string."""
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) / 2**32


def accuracy_at(epoch, epochs, peak):
    """Per-epoch accuracies that peak before the last epoch, so that best and last differ."""
    progress = epoch / epochs
    return max(0.0, min(1.0, peak - 0.12 * (1 - progress) ** 2 - (0.01 if progress > 0.8 else 0.0)))


def write_stub_file(path, what):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        f.write(f"STUB: stands for {what}\n")


# LIBERO-spatial's ten tasks (the language of each task's BDDL file).
LIBERO_SPATIAL = [
    "pick up the black bowl between the plate and the ramekin and place it on the plate",
    "pick up the black bowl next to the ramekin and place it on the plate",
    "pick up the black bowl from table center and place it on the plate",
    "pick up the black bowl on the cookie box and place it on the plate",
    "pick up the black bowl in the top drawer of the wooden cabinet and place it on the plate",
    "pick up the black bowl on the ramekin and place it on the plate",
    "pick up the black bowl next to the cookie box and place it on the plate",
    "pick up the black bowl on the stove and place it on the plate",
    "pick up the black bowl next to the plate and place it on the plate",
    "pick up the black bowl on the wooden cabinet and place it on the plate",
]


def run_tasks(num_trials, chance, mode):
    """The task loop of both evaluation scripts: every task, min(num_trials, 50) trials each."""
    task_results = []
    total_episodes = total_successes = 0
    for task_id, description in enumerate(LIBERO_SPATIAL):
        trials = min(num_trials, 50)
        successes = sum(1 for trial in range(trials) if unit(f"{mode}:{task_id}:{trial}") < chance)
        total_episodes += trials
        total_successes += successes
        task_results.append({
            "task_id": task_id,
            "task_description": description,
            "successes": successes,
            "episodes": trials,
            "success_rate": successes / trials if trials > 0 else 0.0,
        })
    return task_results, total_episodes, total_successes
