"""Independent runs in parallel, each result written as it finishes, so that an interrupted sweep resumes.

    rows = sweep(train_one, jobs, "results.jsonl")          # jobs: a list of dicts of keyword arguments

Each job is a dict of JSON-able keyword arguments of ``fn``; its key is the job itself. ``fn(**job)`` returns
a dict of JSON-able results, which is appended to ``path`` as one line ``{"job": job, **result}`` in the
parent process as soon as that run ends. A job whose line is already in ``path`` is not run again.

The runs go through joblib (``pip install joblib``; without it they run one after another here): local
processes by default (``n_jobs=-1``, all cores). On a Dask or Ray cluster, the same call inside joblib's
backend context runs there, with no code of ours for it::

    from dask.distributed import Client; import joblib
    client = Client("scheduler:8786")
    with joblib.parallel_config(backend="dask"):
        sweep(train_one, jobs, "results.jsonl")
    # Ray: from ray.util.joblib import register_ray; register_ray(); joblib.parallel_config(backend="ray")
"""

from __future__ import annotations

import json
import os

import numpy as np


def job_key(job: dict) -> str:
    """The identity of a job: its arguments as canonical JSON (sorted keys)."""
    return json.dumps(job, sort_keys=True, default=float)


def read_rows(path) -> list:
    """The dict rows of the JSON-lines file ``path`` in order (an empty list if there is no such file); a
    torn line (a run killed while writing) is skipped.

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "log.jsonl"); _ = open(p, "w").write('{"a": 1}\\n{"a"')
        >>> append_row(p, {"a": 2}); [r["a"] for r in read_rows(p)]
        [1, 2]
    """
    if path is None or not os.path.exists(path):
        return []
    rows = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(row, dict):
                rows.append(row)
    return rows


def append_row(path, row) -> None:
    """Append ``row`` as one JSON line to ``path`` with a single ``write`` (a Ctrl-C comes before or after it,
    never inside), fsync'ed; a torn last line that a killed run left is ended first, so this row starts its
    own."""
    line = (json.dumps(row) + "\n").encode("utf-8")
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            line = b"\n" + line
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)


def load(path) -> list:
    """The rows already in the JSON-lines file ``path`` (an empty list if it does not exist); the last row of
    a job wins, a truncated last line (a run killed while writing) is ignored."""
    rows = {job_key(r["job"]): r for r in read_rows(path) if isinstance(r.get("job"), dict)}
    return list(rows.values())


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def _call(fn, job):
    return job, fn(**job)


def sweep(fn, jobs, path=None, n_jobs=-1, progress=True, desc="runs"):
    """Run ``fn(**job)`` for every job not yet in ``path``, in parallel through joblib; returns the rows of
    all jobs.

    Args:
        fn: a module-level function (it is pickled to the worker processes) returning a dict.
        jobs: list of dicts of JSON-able keyword arguments.
        path: JSON-lines file the rows are appended to as they finish (None: keep them in memory only).
        n_jobs: joblib's n_jobs (-1: every core; 1: in this process). Inside
        ``joblib.parallel_config(backend=...)``
            the configured backend runs the jobs.

    Returns:
        list of dicts ``{"job": job, **fn(**job)}``, in the order of ``jobs``.

    Example:
        >>> sweep(dict, [{"a": 1}, {"a": 2}], n_jobs=1, progress=False)
        [{'job': {'a': 1}, 'a': 1}, {'job': {'a': 2}, 'a': 2}]
    """
    if not isinstance(jobs, (list, tuple)) or not all(isinstance(j, dict) for j in jobs):
        raise TypeError(f"jobs must be a list of dicts of keyword arguments, got {type(jobs).__name__}")
    done = {job_key(r["job"]): r for r in load(path)}
    todo = [job for job in jobs if job_key(job) not in done]
    bar = None
    if progress and todo:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(todo), desc=desc, leave=False)
    try:
        import joblib
    except ImportError:  # serial fallback
        joblib = None
    if joblib is None or n_jobs == 1 or len(todo) <= 1:
        results = (_call(fn, job) for job in todo)
    else:
        results = joblib.Parallel(n_jobs=n_jobs, return_as="generator_unordered")(
            joblib.delayed(_call)(fn, job) for job in todo
        )
    for job, result in results:
        row = _jsonable({"job": job, **result})
        done[job_key(job)] = row
        if path is not None:
            append_row(path, row)
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return [done[job_key(job)] for job in jobs]


def summarize(values, solved):
    """Success rate, median and range of one configuration's runs: dict ``n``, ``solved``, ``median``,
    ``min``, ``max`` (NaN-safe; a diverged run counts as not solved).

    Example:
        >>> summarize([0.01, 0.2, 0.03], [True, False, True])["solved"]
        2
    """
    v = np.asarray(values, dtype=float)
    finite = v[np.isfinite(v)]
    stat = lambda f: float(f(finite)) if finite.size else float("nan")
    return {
        "n": int(v.size),
        "solved": int(np.sum(solved)),
        "median": stat(np.median),
        "min": stat(np.min),
        "max": stat(np.max),
    }
