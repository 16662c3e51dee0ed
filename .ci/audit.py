"""Audit the installed dependencies (.venv: the versions pyproject's ranges resolved to)
for known vulnerabilities with pip-audit, and say clearly which of three things happened.

Exit 0: every dependency was audited and none has a known vulnerability.
Exit 1: a dependency has a known vulnerability (listed, with the fixed versions).
Exit 3: the audit could not be done: the vulnerability service (PyPI's JSON API, which
        pip-audit asks per release) did not answer, or answered for only some packages.
        Nothing is known then, neither good nor bad; the message says so.

`make audit` fails on 1 and 3. `.ci/run` fails on 1 and, on 3, prints the message and
goes on, unless CI_AUDIT_REQUIRED=1 (README, "CI": the sandbox's package mirror serves
the index that pip installs from but not the per-release JSON the audit needs).
"""

import json
import subprocess
import sys
from pathlib import Path

VENV_BIN = Path(sys.executable).parent
TIMEOUT = 300


def main() -> int:
    command = [
        str(VENV_BIN / "pip-audit"),
        "--format",
        "json",
        "--skip-editable",  # fanbase itself, not a published package
        "--progress-spinner",
        "off",
        "--timeout",
        "20",
    ]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        print(f"AUDIT NOT DONE: pip-audit did not finish within {TIMEOUT}s (service unreachable?).")
        return 3
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        tail = "\n".join(done.stderr.strip().splitlines()[-5:])
        print(
            f"AUDIT NOT DONE: pip-audit gave no report (exit {done.returncode}); "
            f"the service is unreachable?\n{tail}"
        )
        return 3
    dependencies = report.get("dependencies", [])
    vulnerable = [d for d in dependencies if d.get("vulns")]
    skipped = [d for d in dependencies if d.get("skip_reason")]
    audited = len(dependencies) - len(skipped)
    for dependency in vulnerable:
        for vuln in dependency["vulns"]:
            fixed = ", ".join(vuln.get("fix_versions") or []) or "no fixed version yet"
            print(
                f"VULNERABLE: {dependency['name']} {dependency['version']}: {vuln['id']} (fixed in {fixed})"
            )
    if vulnerable:
        print(
            f"{len(vulnerable)} of {len(dependencies)} dependencies have known vulnerabilities: upgrade them."
        )
        return 1
    if skipped:
        print(
            f"AUDIT NOT DONE: the vulnerability service answered for {audited} of {len(dependencies)} "
            f"dependencies; e.g. {skipped[0]['skip_reason']}. No known vulnerability among those audited; "
            "the rest are unknown."
        )
        return 3
    print(f"audited {audited} dependencies: no known vulnerability.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
