"""Profile one paved command in-process, every thread included: where its time goes.

    python benchmarks/profile_paved.py [--out FILE] [--sort cumulative|tottime] [--top N] \\
        -- ARGS...

runs ``paved ARGS`` through paved's Typer app in this process (not ``paved.cli.app.main``,
which ends the process with ``os._exit``), with :mod:`cProfile` enabled in the main thread and
in every thread the command starts (doctor runs its checks in threads, the guardrails build
the overlays in threads), and prints the merged statistics on stderr (the command's own
stdout is dropped). ``--out`` keeps them for ``python -m pstats FILE`` or snakeviz.

Run it from the folder the command should run in, with the environment it should see
(``PAVED_HOME`` and the like); profiling slows pure-Python code about twofold, so compare
shares, not times. The commands the benchmarks' docs name (benchmarks/README.md) are what
the figures in the docs were read from.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import pstats
import sys
import threading
import time

_profiles: list[cProfile.Profile] = []
_lock = threading.Lock()


def _profiled_run(original):  # type: ignore[no-untyped-def]
    def run(self: threading.Thread) -> None:
        profile = cProfile.Profile()
        with _lock:
            _profiles.append(profile)
        profile.enable()
        try:
            original(self)
        finally:
            profile.disable()

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", help="write the merged statistics to this file too")
    parser.add_argument("--sort", default="cumulative", help="pstats sort key")
    parser.add_argument("--top", type=int, default=40, help="rows to print")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="the paved command (after --)")
    options = parser.parse_args()
    args = options.args[1:] if options.args[:1] == ["--"] else options.args

    threading.Thread.run = _profiled_run(threading.Thread.run)  # type: ignore[method-assign]
    main_profile = cProfile.Profile()
    start = time.perf_counter()
    main_profile.enable()
    from paved.cli.app import app

    code: object = 0
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            app(args, prog_name="paved", standalone_mode=False)
    except SystemExit as exc:
        code = exc.code
    main_profile.disable()
    elapsed = time.perf_counter() - start

    stats = pstats.Stats(main_profile, stream=sys.stderr)
    for profile in _profiles:
        with contextlib.suppress(TypeError):  # a thread that never ran its body
            stats.add(profile)
    print(
        f"paved {' '.join(args)}: exit {code}, {elapsed * 1000:.0f} ms under the profiler, "
        f"{len(_profiles)} thread(s) besides the main one",
        file=sys.stderr,
    )
    stats.sort_stats(options.sort).print_stats(options.top)
    if options.out:
        stats.dump_stats(options.out)


if __name__ == "__main__":
    main()
