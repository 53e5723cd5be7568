"""Classroom 50 autograder for TinyTorch (`make release` copies it into the bundle).

Classroom 50 runs this file on every push, in the student's repository (the working
directory), and reads `./result.json` (and `./release-body.md`, the text of the
submission's Release). It grades the visible tests of every released module with the
course's own grader, isolated, and writes integer points: the visible tests' own points,
labelled as such, never a module's full grade (hidden tests are graded only by the
instructors). Classroom 50's autograde job has 15 minutes for everything, its own set-up
and the Release included, so this file takes at most GRADING_BUDGET_SECONDS: grading that
would run longer is stopped, and the result says so (the instructors' grader still grades
the push). It exits 0 whenever it wrote a result; non-zero means the grading machine
failed (Classroom 50 then records an error, not a score).
"""

import datetime
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

CLASSROOM50_JOB_SECONDS = 15 * 60
GRADING_BUDGET_SECONDS = CLASSROOM50_JOB_SECONDS - 6 * 60
"""Set-up and grading here; 6 minutes are left for the job's own set-up (Python, apt,
the bundle) before and the Release after."""
OUT_OF_TIME = (
    "Grading this push did not finish within Classroom 50's time limit, so this result "
    "holds no points. Your instructors' grader grades every push with all the tests."
)


def main(budget_seconds: float = GRADING_BUDGET_SECONDS) -> int:
    started = time.monotonic()
    checkout = Path.cwd()
    # Ubuntu 24.04 runners restrict the user namespaces that isolate the student's code.
    if shutil.which("sudo"):
        sysctl = ["sudo", "-n", "sysctl", "-w", "kernel.apparmor_restrict_unprivileged_userns=0"]
        subprocess.run(sysctl, capture_output=True)
    try:
        setup = subprocess.run(
            ["make", "--no-print-directory", "venv"], cwd=checkout, timeout=budget_seconds
        )
    except subprocess.TimeoutExpired:
        return out_of_time(checkout)
    if setup.returncode != 0:
        return 2
    results = checkout / ".grades" / "results.json"
    command = [str(checkout / ".venv" / "bin" / "python"), "-I", "-m", "grader"]
    command += ["--root", str(checkout), "grade", "--module", "all", "--no-hidden"]
    command += ["--results", str(results), "--classroom50", "result.json"]
    left = budget_seconds - (time.monotonic() - started)
    # Feedback on a push: isolated where the runner allows it, else said in the report.
    environment = dict(os.environ, TINYTORCH_ISOLATION="optional")
    grading = subprocess.Popen(command, cwd=checkout, env=environment, start_new_session=True)
    try:
        returncode = grading.wait(timeout=max(1.0, left))
    except subprocess.TimeoutExpired:
        os.killpg(grading.pid, signal.SIGKILL)  # the grader and every worker it started
        grading.wait()
        return out_of_time(checkout)
    if returncode != 0 or not (checkout / "result.json").is_file():
        return 2
    summary = json.loads(results.read_text(encoding="utf-8"))
    print(f"{summary['points']} (visible tests only; your instructors grade the hidden tests)")
    return 0


def out_of_time(checkout: Path) -> int:
    """A result that says grading ran out of time (Classroom 50 accepts it: 0 of 0)."""
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    result = {
        "schema": "classroom50/result/v1",
        "classroom": os.environ.get("CLASSROOM", ""),
        "assignment": os.environ.get("ASSIGNMENT", ""),
        "submission": os.environ.get("SUBMISSION_TAG") or f"submit/{now}",
        "commit": os.environ.get("COMMIT_URL") or "local",
        "release": os.environ.get("RELEASE_URL") or "local",
        "review": os.environ.get("REVIEW_URL") or "local",
        "datetime": now,
        "graded_at": now,
        "score": 0,
        "max-score": 0,
        "tests": [
            {"test-name": "grading ran out of time", "passed": False, "score": 0, "max-score": 0}
        ],
    }
    (checkout / "result.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    (checkout / "release-body.md").write_text(OUT_OF_TIME + "\n", encoding="utf-8")
    print(OUT_OF_TIME)
    return 0


if __name__ == "__main__":
    sys.exit(main())
