"""Helpers shared by the cluster benches (cluster_bench.py, cluster_scale.py): logging,
the run's environment line, RSS as the etcd anchor reads it, and load generators run in
their own process group with a time bound."""
import json
import os
import platform
import signal
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CPUS = os.cpu_count() or 1


def log(msg):
    print(msg, flush=True)


def loadavg():
    with open("/proc/loadavg") as f:
        return f.read().split()[:3]


def rss_kib(pid):
    """VmRSS of /proc/<pid>/status in KiB (the etcd anchor's cluster.py reads it the same way)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def cpu_seconds(pid):
    """User + system CPU time of a process so far, from /proc/<pid>/stat."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return None


def commit_label():
    """The short commit of the checkout, with "+dirty" when tracked files differ from it."""
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip() or "?"
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    return commit + ("+dirty" if dirty else "")


def run_env(command):
    """What every report starts with: date (`date -u`), command, commit, CPUs, kernel, load."""
    return {"date": subprocess.run(["date", "-u"], capture_output=True, text=True).stdout.strip(),
            "command": command, "commit": commit_label(), "cpus": CPUS, "kernel": platform.release(),
            "loadavg_start": loadavg()}


def run_json(cmd, timeout):
    """Runs a load generator in its own process group; on timeout the whole group (its worker
    processes too) is killed by that group's id, which is the PID we started."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return {"error": f"timed out after {timeout} s"}
    except BaseException:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    if proc.returncode != 0:
        return {"error": err.strip()[-500:] or f"rc={proc.returncode}"}
    try:
        return json.loads(out.strip().splitlines()[-1])
    except Exception as e:  # noqa: BLE001
        return {"error": f"parse: {e}: {out[-300:]}"}


def write_results(name, results, make_report):
    """Writes bench/results/<name>-<UTC time>.json and .md and prints the report.
    make_report(results) returns the Markdown; if it fails, the raw JSON is still written."""
    resdir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
    os.makedirs(resdir, exist_ok=True)
    ts = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    try:
        md = make_report(results)
    except Exception as e:  # noqa: BLE001  (a partial run still leaves its raw JSON)
        md = f"report failed: {e!r}"
    with open(os.path.join(resdir, f"{name}-{ts}.json"), "w") as f:
        json.dump(results, f, indent=1, default=str)
    with open(os.path.join(resdir, f"{name}-{ts}.md"), "w") as f:
        f.write(md + "\n")
    print(md)
    print(f"\nwritten: bench/results/{name}-{ts}.md and .json")
