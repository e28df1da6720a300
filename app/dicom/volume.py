"""Series -> one (z, y, x) volume of modality values, first slice first, on all cores.

The calling process decodes the first slice (delivered through ``on_first_slice``), then
either reads the rest itself (uncompressed files whose raw offsets are known: a plain read
into the volume, no parsing, no decoding) or hands them to a reusable pool of worker
processes (codecs hold the GIL) that write straight into one preallocated shared-memory
volume. Peak memory stays near the voxel bytes; a cancel unlinks the shared memory.
"""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from multiprocessing import shared_memory
from typing import Callable, Iterator, Optional, Sequence

import numpy as np

from app.dicom.codecs import DecodeError, ensure_plugins
from app.dicom.geometry import VolumeGeometry, compute_geometry
from app.dicom.pixels import fits_int16
from app.dicom.series import SliceRef, load_slice, slice_values
from app.tasks import Cancelled, ProgressFn, check_cancel, report

_HEADER = 64  # bytes before the voxels in shared memory; byte 0 is the cancel flag
_pool: Optional[ProcessPoolExecutor] = None
_pool_size = 0
_pool_lock = threading.Lock()

FirstSliceFn = Callable[[int, np.ndarray], None]


class _SharedMemory(shared_memory.SharedMemory):
    """SharedMemory whose mapping may outlive it inside numpy views without a warning."""

    def __del__(self) -> None:
        try:
            self.close()
        except (BufferError, OSError):
            pass  # a numpy view still uses the mapping; it is released with the view


@dataclass
class Volume:
    """Modality values (z, y, x), int16 when the rescale allows else float32, and geometry."""

    array: np.ndarray
    geometry: VolumeGeometry
    slices: tuple[SliceRef, ...]
    _shm: Optional[shared_memory.SharedMemory] = field(default=None, repr=False)


# ---------------------------------------------------------------- worker pool


def _worker_init(parent: Optional[int] = None) -> None:
    if parent is not None:  # a worker of a killed process would otherwise wait for work forever
        from app.tasks.orphans import exit_with

        exit_with(parent)
    ensure_plugins()


def _noop() -> int:
    return os.getpid()


def get_pool(workers: Optional[int] = None) -> ProcessPoolExecutor:
    """The shared decoder pool (forkserver: never forks the threaded GUI process)."""
    global _pool, _pool_size
    size = max(1, workers or os.cpu_count() or 1)
    with _pool_lock:
        if _pool is not None and _pool_size != size:
            _pool.shutdown(wait=True, cancel_futures=True)
            _pool = None
        if _pool is None:
            import multiprocessing

            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(["numpy", "pydicom", "app.dicom.volume"])
            _pool = ProcessPoolExecutor(size, mp_context=ctx, initializer=_worker_init, initargs=(os.getpid(),))
            _pool_size = size
        return _pool


def warm_pool(workers: Optional[int] = None) -> None:
    """Start every worker process now (imports done) so the first load does not pay for it."""
    pool = get_pool(workers)
    for fut in [pool.submit(_noop) for _ in range(_pool_size * 2)]:
        fut.result()


def shutdown_pool() -> None:
    """Stop the worker processes (at application exit or after a crash)."""
    global _pool
    with _pool_lock:
        if _pool is not None:
            _pool.shutdown(wait=True, cancel_futures=True)
            _pool = None


def _load_chunk(name: str, shape: tuple, dtype: str, jobs: list[tuple[int, SliceRef]],
                keys: Optional[dict] = None) -> tuple:
    """Worker task: load ``jobs`` into the shared volume; stop early when flagged. ``keys``: the sender's
    unlocked data folders (``app.crypto.snapshot``), for encrypted stored files."""
    if keys:
        from app.crypto.registry import adopt

        adopt(keys)
    shm = shared_memory.SharedMemory(name=name)
    errors: list[str] = []
    overflow: list[int] = []
    done = 0
    flag = vol = None
    try:
        flag = np.ndarray((1,), np.uint8, buffer=shm.buf)
        vol = np.ndarray(shape, dtype, buffer=shm.buf, offset=_HEADER)
        cache: dict = {}
        for z, ref in jobs:
            if flag[0]:
                break
            try:
                if not load_slice(ref, vol[z], cache):
                    overflow.append(z)
            except DecodeError as exc:
                errors.append(f"{ref.path} frame {ref.frame}: {exc.reason}")
            except Exception as exc:  # noqa: BLE001 - report, never kill the worker
                errors.append(f"{ref.path} frame {ref.frame}: {type(exc).__name__}: {exc}")
            done += 1
    finally:
        flag = vol = None  # release the views before unmapping
        shm.close()
    return done, errors, overflow


# ---------------------------------------------------------------- whole volume


def _order_from(first: int, n: int) -> list[int]:
    """Slice indices nearest to ``first`` first (the viewer scrolls from there)."""
    return sorted((i for i in range(n) if i != first), key=lambda i: (abs(i - first), i))


def _run_pool(
    shm: shared_memory.SharedMemory, vol: np.ndarray, todo: list[tuple[int, SliceRef]],
    workers: int, progress: Optional[ProgressFn], cancel: Optional[threading.Event], total: int,
) -> tuple[list[str], list[int]]:
    from concurrent.futures.process import BrokenProcessPool

    pool = get_pool(workers)
    size = min(16, max(1, -(-len(todo) // (workers * 8))))  # small chunks: even finish
    from app.crypto.registry import keys_for, snapshot

    folders = snapshot() if todo and keys_for(todo[0][1].path) is not None else None
    futures: list[Future] = [
        pool.submit(_load_chunk, shm.name, vol.shape, vol.dtype.str, todo[i : i + size], folders)
        for i in range(0, len(todo), size)
    ]
    errors: list[str] = []
    overflow: list[int] = []
    done, pending = 1, set(futures)
    try:
        while pending:
            finished, pending = wait(pending, timeout=0.05, return_when=FIRST_COMPLETED)
            for fut in finished:
                n, errs, over = fut.result()
                done, errors, overflow = done + n, errors + errs, overflow + over
            report(progress, done, total, "loading slices")
            check_cancel(cancel)
    except BaseException as exc:
        shm.buf[0] = 1  # running chunks stop at their next slice
        for fut in pending:
            fut.cancel()
        wait(pending)
        if isinstance(exc, BrokenProcessPool):
            shutdown_pool()
            raise DecodeError("a decoder process crashed while loading the series") from exc
        raise
    return errors, overflow


def load_volume(
    slices: Sequence[SliceRef],
    *,
    on_first_slice: Optional[FirstSliceFn] = None,
    progress: Optional[ProgressFn] = None,
    cancel: Optional[threading.Event] = None,
    workers: Optional[int] = None,
    first: Optional[int] = None,
    dtype: Optional[str] = None,
) -> Volume:
    """Load a series (sorted along the normal) as modality values.

    ``first``: index (sorted order) decoded and given to ``on_first_slice(index, slice)``
    before any other (default: the middle slice). ``workers``: processes (default all
    cores; 0 = load everything in this process). ``dtype`` forces "int16" or "float32".
    Raises GeometryError, DecodeError or Cancelled (shared memory is always unlinked).
    """
    ordered, geometry = compute_geometry(slices)
    n = len(ordered)
    first = n // 2 if first is None else first
    check_cancel(cancel)
    with _naming(ordered[first]):
        first_values = slice_values(ordered[first])
    if dtype is None:
        dtype = "int16" if fits_int16(first_values) else "float32"
    raw = all(r.raw_readable and r.rescale_slope is not None for r in ordered)
    workers = (os.cpu_count() or 1) if workers is None else workers
    use_pool = workers > 0 and n > 1 and not raw
    shm = None
    nbytes = n * ordered[0].rows * ordered[0].cols * np.dtype(dtype).itemsize
    if use_pool:
        shm = _SharedMemory(create=True, size=_HEADER + nbytes)
        vol = np.ndarray(geometry.shape, dtype, buffer=shm.buf, offset=_HEADER)
    else:
        vol = np.empty(geometry.shape, dtype)
    try:
        if dtype == "int16" and not fits_int16(first_values):
            raise OverflowError
        vol[first] = first_values
        del first_values
        if on_first_slice is not None:
            on_first_slice(first, vol[first])
        report(progress, 1, n, "first slice")
        check_cancel(cancel)
        todo = [(z, ordered[z]) for z in _order_from(first, n)]
        if use_pool:
            errors, overflow = _run_pool(shm, vol, todo, workers, progress, cancel, n)
        else:
            errors, overflow, cache = [], [], {}
            for done, (z, ref) in enumerate(todo, start=2):
                check_cancel(cancel)
                with _naming(ref):
                    if not load_slice(ref, vol[z], cache):
                        overflow.append(z)
                report(progress, done, n, "loading slices")
        if errors:
            raise DecodeError(f"{len(errors)} slice(s) failed: " + "; ".join(errors[:3]))
        if overflow:
            raise OverflowError
    except OverflowError:
        del vol
        _release(shm)
        return load_volume(slices, on_first_slice=None, progress=progress, cancel=cancel,
                           workers=workers, first=first, dtype="float32")
    except BaseException:
        del vol
        _release(shm)
        raise
    if shm is not None:
        shm.unlink()  # the name goes now; the mapping lives as long as the array
    return Volume(vol, geometry, tuple(ordered), shm)


@contextmanager
def _naming(ref: SliceRef) -> Iterator[None]:
    """Prefix a DecodeError's reason with the file (and frame) it came from."""
    try:
        yield
    except DecodeError as exc:
        raise DecodeError(f"{ref.path} frame {ref.frame}: {exc.reason}") from exc


def _release(shm: Optional[shared_memory.SharedMemory]) -> None:
    if shm is None:
        return
    try:
        shm.close()
    except BufferError:
        pass
    shm.unlink()


__all__ = ["Volume", "load_volume", "load_slice", "slice_values", "get_pool", "warm_pool",
           "shutdown_pool", "Cancelled"]
