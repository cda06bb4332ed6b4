"""os.environ changed for a block and restored as it was, for the harness and tools/bench.py."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager


@contextmanager
def patched_environ(
    values: Mapping[str, str], drop: Iterable[str] = (), *, replace: bool = False
) -> Iterator[None]:
    """os.environ with ``drop`` removed (every variable, with ``replace``) and ``values`` set.

    On exit the environment is again exactly what it was on entry.
    """
    saved = dict(os.environ)
    if replace:
        os.environ.clear()
    for name in drop:
        os.environ.pop(name, None)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
