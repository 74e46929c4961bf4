"""What every benchmark script records the same way: the repository and the
mirror directory, paths relative to them (results are committed), the
machine, the revision, and the summary statistics of timed runs."""
import math
import os
import platform
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def mirror_dir():
    return os.path.abspath(os.environ.get("QP_MIRROR") or os.path.join(ROOT, "..", "shared"))


def rel(path):
    """Path relative to the repository root, the mirror as <mirror>, else the base name."""
    path = os.path.abspath(path)
    if path.startswith(mirror_dir() + os.sep):
        return "<mirror>/" + os.path.relpath(path, mirror_dir())
    r = os.path.relpath(path, ROOT)
    return os.path.basename(path) if r.startswith("..") else r


def cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def cpu_isa():
    """The x86 extensions the CPU kernels choose by (engine/cpu/features.c):
    avx2, fma, avx512f, avx512vl, avx512_vnni, avx_vnni; [] elsewhere."""
    want = ("avx2", "fma", "avx512f", "avx512vl", "avx512_vnni", "avx_vnni")
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("flags"):
                    have = set(line.split(":", 1)[1].split())
                    return [x for x in want if x in have]
    except OSError:
        pass
    return []


def git_revision():
    """Short commit, "+dirty" when tracked files differ from it."""
    try:
        p = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                           capture_output=True, text=True)
        d = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True)
    except OSError:
        return "unknown"
    return (p.stdout.strip() or "unknown") + ("+dirty" if d.stdout.strip() else "")


def stats(ms):
    """Median, nearest-rank p90 / p99 (as bench_engine.c), mean, min, max, runs."""
    s = sorted(ms)
    n = len(s)

    def rank(p):
        return s[max(0, min(n - 1, math.ceil(p * n) - 1))]
    median = s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])
    out = {"median": median, "p90": rank(0.90), "p99": rank(0.99),
           "mean": sum(s) / n, "min": s[0], "max": s[-1]}
    return {**{k: round(v, 4) for k, v in out.items()}, "runs": n}
