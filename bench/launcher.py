"""A small process that runs the measured commands, so their peak RSS is their own.

On Linux a child's ru_maxrss starts from the RSS of the process that forked it (exec keeps the
high-water mark of the forked copy), so children of the driver, which holds the whole site in
memory, would report the driver's size. The driver starts this launcher before building the site
and sends it one JSON request per line: {"argv", "cwd", "env", "stdout", "stderr"}. It answers
one JSON line: {"code", "wall_s", "user_s", "sys_s", "maxrss_kib"} (os.wait4 of the child).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time


def main() -> None:
    for line in sys.stdin:
        request = json.loads(line)
        with open(request["stdout"], "wb") as out, open(request["stderr"], "wb") as err:
            started = time.perf_counter()
            process = subprocess.Popen(
                request["argv"], cwd=request["cwd"], env=request["env"], stdout=out, stderr=err
            )
            _, status, usage = os.wait4(process.pid, 0)
            wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        answer = {
            "code": process.returncode,
            "wall_s": wall,
            "user_s": usage.ru_utime,
            "sys_s": usage.ru_stime,
            "maxrss_kib": usage.ru_maxrss,
        }
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
