"""What a forked worker inherits and keeps: no collections over the parent's objects, and the
heap it frees kept for its next chunk."""
import gc
import json
import multiprocessing
import platform
import resource
import subprocess
import sys
import textwrap

import pytest

from classifier.forking import frozen_objects
from tests.support.paths import ROOT


def test_objects_are_frozen_only_while_processes_are_forked():
    assert gc.get_freeze_count() == 0
    with frozen_objects():
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0
    with pytest.raises(RuntimeError), frozen_objects():
        raise RuntimeError("a fork that failed")
    assert gc.get_freeze_count() == 0


def inherited_and_frozen(model=None) -> int:
    return gc.get_freeze_count()


# Forked workers, from a process of their own: this one may run other threads (a Dask client's),
# and then forks none.
_IN_FORKED_WORKERS = textwrap.dedent("""
    import gc, json, sys
    from classifier import batch
    from tests import test_forking

    assert batch.can_fork()
    function = getattr(test_forking, sys.argv[1])
    print(json.dumps([list(batch.map_ordered(function, [()] * 4, None, jobs=2)), gc.get_freeze_count()]))
""")


def in_forked_workers(function_name: str) -> tuple[list, int]:
    """What ``function_name`` of this module returns in each of two forked workers (four calls),
    and the freeze count of the process that forked them, afterwards."""
    run = subprocess.run([sys.executable, "-c", _IN_FORKED_WORKERS, function_name], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    return tuple(json.loads(run.stdout))


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(),
                    reason="workers are forked only where the platform forks")
def test_forked_workers_never_collect_what_they_inherit():
    frozen, after = in_forked_workers("inherited_and_frozen")
    assert len(frozen) == 4 and min(frozen) > 1000  # the imports, at least
    assert after == 0  # and the process that forked them is as it was


def heap_churn_faults(model=None) -> int:
    """Allocate and free 12 MB of the heap (in blocks below the size glibc maps on their own)
    ten times: the page faults those rounds cost."""
    def churn():
        blocks = [bytearray(60_000) for _ in range(200)]
        del blocks

    churn()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(10):
        churn()
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


_HEAP_CHURN = textwrap.dedent("""
    import sys
    from classifier.forking import keep_freed_memory
    from tests.test_forking import heap_churn_faults

    if sys.argv[1] == "keep":
        assert keep_freed_memory()
    print(heap_churn_faults())
""")


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="keeping freed memory needs glibc's mallopt")
def test_a_worker_keeps_the_memory_it_frees_for_its_next_chunk():
    def faults(mode):
        run = subprocess.run([sys.executable, "-c", _HEAP_CHURN, mode], cwd=ROOT, capture_output=True, text=True,
                             check=True)
        return int(run.stdout)

    # Given back, much of each round's 12 MB (3,000 pages) is faulted in again; kept, it is reused.
    assert faults("give back") > 2000
    assert faults("keep") < 100
    if "fork" in multiprocessing.get_all_start_methods():  # and so does a forked worker
        assert max(in_forked_workers("heap_churn_faults")[0]) < 100
