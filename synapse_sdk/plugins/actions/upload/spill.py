"""``SpillList``: a list that keeps a bounded number of its entries in memory.

The upload context's per-file lists (``organized_files``, ``uploaded_files``,
``data_units``) are each a ``SpillList``, so an upload of a million files holds about as much
memory as one of ten thousand. Steps use them as lists (iterate, ``len``, index, slice,
``append``, ``extend``, assign a new list); all but the last ``chunk`` entries appended are
written, ``chunk`` at a time, to an anonymous temporary file (pickled) and read back equal.

Also here: :func:`external_sorted`, ``sorted()`` for more items than memory should hold.
"""

from __future__ import annotations

import heapq
import os
import pickle
import tempfile
import weakref
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, MutableSequence
from typing import IO, TYPE_CHECKING, Any, Generic, TypeVar, overload

from ..._compat import module_getattr

if TYPE_CHECKING:
    from typing import TypeAlias

    from typing_extensions import Self

    #: Where a spill file goes: a folder, a callable giving one (called at the first spill,
    #: so a list that never spills makes none), or None (the system's temp folder).
    Directory: TypeAlias = "str | os.PathLike[str] | Callable[[], str | os.PathLike[str]] | None"

__all__ = ["SpillList", "external_sorted"]

T = TypeVar("T")

_PROTOCOL = pickle.HIGHEST_PROTOCOL
_CACHED_CHUNKS = 2  # two chunks read back: a walk and an index lookup do not evict each other


class _Chunk:
    """Where ``count`` spilled entries are in the file (``size`` bytes at ``offset``)."""

    __slots__ = ("count", "offset", "size")

    def __init__(self, offset: int, size: int, count: int) -> None:
        self.offset = offset
        self.size = size
        self.count = count


class SpillList(MutableSequence[T], Generic[T]):
    """A list whose entries beyond ``chunk`` live in a temporary file.

    At most about ``3 * chunk`` entries are in memory at once: the last ``chunk`` appended
    (kept as they are: ``seq[-1]`` is the object appended) and two chunks read back. Every
    list operation works; appending, iterating, indexing and slicing near the end are cheap,
    inserting or deleting in the middle rewrites one chunk, ``sort`` sorts externally.
    Slicing returns a plain ``list``.

    An entry read back is a copy; changing it in place is kept (its chunk is written back
    when it leaves memory, if it changed) while its chunk is one of the two last read: a
    change made to the entry in hand during a walk or right after ``seq[i]`` is kept. To
    change an entry held longer, assign it: ``seq[i] = entry``.

    Entries must pickle. Not thread-safe. :meth:`close` drops the spilled entries (the upload
    does it when the run ends); the file is also removed when the list is garbage collected.
    """

    def __init__(
        self,
        items: Iterable[T] = (),
        *,
        chunk: int = 512,
        directory: Directory = None,
    ) -> None:
        if chunk < 1:
            raise ValueError(f"SpillList chunk must be at least 1, not {chunk}")
        self.chunk = chunk
        self._directory = directory
        self._file: IO[bytes] | None = None
        self._finalizer: weakref.finalize[Any, Any] | None = None
        self._end = 0
        self._chunks: list[_Chunk] = []
        self._spilled = 0
        self._starts: list[int] | None = []
        self._tail: list[T] = []
        self._cache: OrderedDict[_Chunk, tuple[list[T], bytes]] = OrderedDict()
        self._closed = False
        #: Bumped when entries move between memory and file or positions shift.
        self._version = 0
        self.extend(items)

    # -- the sequence ------------------------------------------------------------------------

    def __len__(self) -> int:
        return self._spilled + len(self._tail)

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> list[T]: ...

    def __getitem__(self, index: int | slice) -> T | list[T]:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            if step == 1:
                return list(self._walk(start, stop))
            return [self[i] for i in range(start, stop, step)]
        items, j = self._locate(index)
        return items[j]

    @overload
    def __setitem__(self, index: int, value: T) -> None: ...
    @overload
    def __setitem__(self, index: slice, value: Iterable[T]) -> None: ...

    def __setitem__(self, index: int | slice, value: Any) -> None:
        if isinstance(index, slice):
            items = list(self)
            items[index] = value
            self._replace(items)
            return
        items, j = self._locate(index)
        items[j] = value

    @overload
    def __delitem__(self, index: int) -> None: ...
    @overload
    def __delitem__(self, index: slice) -> None: ...

    def __delitem__(self, index: int | slice) -> None:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            if step == 1 and stop >= len(self) and start >= self._spilled:
                del self._tail[start - self._spilled :]
                return
            items = list(self)
            del items[index]
            self._replace(items)
            return
        i = self._normalize(index)
        if i >= self._spilled:
            del self._tail[i - self._spilled]
            return
        chunk, j = self._chunk_at(i)
        del self._load(chunk)[j]
        chunk.count -= 1
        self._moved()

    def insert(self, index: int, value: T) -> None:
        n = len(self)
        i = max(0, n + index if index < 0 else index) if index < n else n
        if i >= self._spilled:
            self._tail.insert(i - self._spilled, value)
            if len(self._tail) > self.chunk:
                self._spill(len(self._tail) - 1)
            return
        chunk, j = self._chunk_at(i)
        self._load(chunk).insert(j, value)
        chunk.count += 1
        self._moved()

    def append(self, value: T) -> None:
        if len(self._tail) >= self.chunk:
            self._spill(len(self._tail))
        self._tail.append(value)

    def extend(self, values: Iterable[T]) -> None:
        if values is self:
            values = self._walk(0, len(self))
        for value in values:
            self.append(value)

    def __iter__(self) -> Iterator[T]:
        return self._walk(0, None)

    def read_only(self) -> Iterator[T]:
        """The entries in order, for a walk that changes none of them in place: a chunk read
        for it is not kept to be written back (no re-encoding; the two chunks read last stay
        in memory). Entries appended meanwhile are included, as by ``iter``."""
        return self._walk(0, None, keep=False)

    def clear(self) -> None:
        self._drop_file()
        self._tail = []
        self._moved()

    def copy(self) -> SpillList[T]:
        return SpillList(self, chunk=self.chunk, directory=self._directory)

    def reverse(self) -> None:
        self._replace(SpillList(reversed(self), chunk=self.chunk, directory=self._directory))

    def sort(self, *, key: Callable[[T], Any] | None = None, reverse: bool = False) -> None:
        """Sort in place, stably, holding about ``16 * chunk`` entries at a time."""
        ordered = external_sorted(
            self, key=key, reverse=reverse, chunk=self.chunk, directory=self._directory
        )
        self._replace(SpillList(ordered, chunk=self.chunk, directory=self._directory))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, (list, SpillList)):
            return NotImplemented
        if len(self) != len(other):
            return False
        return all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]  # mutable, like list

    def __add__(self, other: Iterable[T]) -> SpillList[T]:
        joined = self.copy()
        joined.extend(other)
        return joined

    def __radd__(self, other: Iterable[T]) -> SpillList[T]:
        joined = SpillList(other, chunk=self.chunk, directory=self._directory)
        joined.extend(self)
        return joined

    def __iadd__(self, values: Iterable[T]) -> Self:
        self.extend(values)
        return self

    def __repr__(self) -> str:
        n = len(self)
        if n <= 6:
            return f"SpillList({list(self)!r})"
        head = ", ".join(repr(v) for v in self._walk(0, 3))
        return f"SpillList([{head}, ...], len={n}, spilled={self._spilled})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuilt, (list(self), self.chunk))

    # -- lifetime ----------------------------------------------------------------------------

    @property
    def spilled(self) -> int:
        """How many entries are in the file (not in memory) now."""
        return self._spilled

    def close(self) -> None:
        """Drop the spilled entries and their file. The entries still in memory stay
        readable; reading a spilled one raises ValueError."""
        self._closed = True
        self._cache.clear()
        if self._finalizer is not None:
            self._finalizer()
        self._file = None
        self._finalizer = None

    # -- inside ------------------------------------------------------------------------------

    def _normalize(self, index: int) -> int:
        n = len(self)
        i = index + n if index < 0 else index
        if not 0 <= i < n:
            raise IndexError("SpillList index out of range")
        return i

    def _locate(self, index: int, keep: bool = True) -> tuple[list[T], int]:
        """The list holding entry ``index`` (the tail or a chunk read back) and its place;
        ``keep=False`` reads a chunk that is not in memory without caching it."""
        i = self._normalize(index)
        if i >= self._spilled:
            return self._tail, i - self._spilled
        chunk, j = self._chunk_at(i)
        if not keep and chunk not in self._cache:
            return self._read(chunk)[0], j
        return self._load(chunk), j

    def _chunk_at(self, i: int) -> tuple[_Chunk, int]:
        starts = self._starts
        if starts is None:
            starts, total = [], 0
            for chunk in self._chunks:
                starts.append(total)
                total += chunk.count
            self._starts = starts
        k = bisect_right(starts, i) - 1
        return self._chunks[k], i - starts[k]

    def _walk(self, start: int, stop: int | None, keep: bool = True) -> Iterator[T]:
        """Entries ``start`` to ``stop`` (the live end when None), a chunk at a time."""
        i = start
        while i < (len(self) if stop is None else min(stop, len(self))):
            version = self._version
            items, j = self._locate(i, keep)
            while j < len(items) and self._version == version:
                if stop is not None and i >= stop:
                    return
                yield items[j]
                i += 1
                j += 1
            del items  # a chunk read for this walk goes before the next one is read

    def _flush(self) -> None:
        """Write every entry still in memory to the file (a run waiting to be merged)."""
        if self._tail:
            self._spill(len(self._tail))

    def _moved(self) -> None:
        self._starts = None
        self._spilled = sum(c.count for c in self._chunks)
        self._version += 1

    def _spill(self, count: int) -> None:
        """Write the first ``count`` entries of the tail to the file as one chunk."""
        if self._closed:
            raise ValueError("this SpillList was closed (the run ended): it takes no more entries")
        items, self._tail = self._tail[:count], self._tail[count:]
        blob = pickle.dumps(items, _PROTOCOL)
        chunk = _Chunk(self._write(blob, None), len(blob), len(items))
        self._chunks.append(chunk)
        self._spilled += chunk.count
        if self._starts is not None:
            self._starts.append(self._spilled - chunk.count)
        self._version += 1

    def _load(self, chunk: _Chunk) -> list[T]:
        cached = self._cache.get(chunk)
        if cached is not None:
            self._cache.move_to_end(chunk)
            return cached[0]
        while len(self._cache) >= _CACHED_CHUNKS:  # make room first: no fourth chunk at once
            self._store(*self._cache.popitem(last=False))
        read = self._cache[chunk] = self._read(chunk)
        return read[0]

    def _read(self, chunk: _Chunk) -> tuple[list[T], bytes]:
        if self._file is None:
            raise ValueError(
                "the spilled entries of this SpillList were dropped (closed when the run "
                "ended); read them while the run is going, in a step"
            )
        self._file.seek(chunk.offset)
        blob = self._file.read(chunk.size)
        return pickle.loads(blob), blob  # our own file, written by _spill and _store

    def _store(self, chunk: _Chunk, cached: tuple[list[T], bytes]) -> None:
        """Write a chunk leaving memory back to the file if it changed while read."""
        items, blob = cached
        if not items:
            self._chunks.remove(chunk)
            self._moved()
            return
        new = pickle.dumps(items, _PROTOCOL)
        if new == blob:
            return
        chunk.offset = self._write(new, chunk if len(new) <= chunk.size else None)
        chunk.size = len(new)

    def _write(self, blob: bytes, over: _Chunk | None) -> int:
        """Write ``blob`` over chunk ``over`` (it fits), or at the end; return its offset."""
        if self._file is None:
            self._file = self._open()
        if over is not None:
            self._file.seek(over.offset)
            self._file.write(blob)
            return over.offset
        offset = self._end
        self._file.seek(offset)
        self._file.write(blob)
        self._end += len(blob)
        return offset

    def _open(self) -> IO[bytes]:
        where = self._directory() if callable(self._directory) else self._directory
        # lives as long as the list: closed by close() or the finalizer, not a with block
        file = tempfile.TemporaryFile(prefix="spill-", dir=where)  # noqa: SIM115
        self._finalizer = weakref.finalize(self, file.close)
        return file

    def _drop_file(self) -> None:
        if self._finalizer is not None:
            self._finalizer()
        self._file = None
        self._finalizer = None
        self._end = 0
        self._chunks = []
        self._cache.clear()
        self._spilled = 0

    def _replace(self, items: Iterable[T]) -> None:
        """Become ``items`` (a list, or a SpillList whose file this one takes over)."""
        if isinstance(items, SpillList):
            other = items
            self._drop_file()
            if other._finalizer is not None:
                other._finalizer.detach()
                assert other._file is not None
                self._finalizer = weakref.finalize(self, other._file.close)
            self._file, self._end, self._chunks = other._file, other._end, other._chunks
            self._cache, self._tail = other._cache, other._tail
            other._file, other._finalizer, other._chunks = None, None, []
            other._cache, other._tail = OrderedDict(), []
            other._moved()
            self._moved()
            return
        fresh = SpillList(items, chunk=self.chunk, directory=self._directory)
        self._replace(fresh)


def external_sorted(
    items: Iterable[T],
    *,
    key: Callable[[T], Any] | None = None,
    reverse: bool = False,
    chunk: int = 512,
    directory: Directory = None,
    fan_in: int = 16,
) -> Iterator[T]:
    """``sorted(items, key=key, reverse=reverse)`` as an iterator (stable), holding about
    ``fan_in * chunk`` items in memory: sorted runs of that size are spilled
    (:class:`SpillList`) and merged ``fan_in`` at a time."""
    size = max(1, fan_in * chunk)
    merge_key: Any = key  # heapq.merge's stubs take no Optional key; None means the items
    runs: list[SpillList[T]] = []
    batch: list[T] = []
    try:
        for item in items:
            batch.append(item)
            if len(batch) >= size:
                batch.sort(key=key, reverse=reverse)
                runs.append(_spilled_run(batch, chunk, directory))
                batch = []
        batch.sort(key=key, reverse=reverse)
        if not runs:
            yield from batch
            return
        runs.append(_spilled_run(batch, chunk, directory))
        del batch
        while len(runs) > fan_in:  # merge in passes: fan_in runs become one
            merged: list[SpillList[T]] = []
            for first in range(0, len(runs), fan_in):
                group = runs[first : first + fan_in]
                run = _spilled_run(
                    heapq.merge(*group, key=merge_key, reverse=reverse), chunk, directory
                )
                for done in group:
                    done.close()
                merged.append(run)
            runs = merged
        yield from heapq.merge(*runs, key=merge_key, reverse=reverse)
    finally:
        for run in runs:
            run.close()


def _spilled_run(
    items: Iterable[T],
    chunk: int,
    directory: Directory,
) -> SpillList[T]:
    """A SpillList of ``items`` with none of them left in memory."""
    run = SpillList(items, chunk=chunk, directory=directory)
    run._flush()
    return run


def _rebuilt(items: list[T], chunk: int) -> SpillList[T]:
    return SpillList(items, chunk=chunk)


__getattr__ = module_getattr(__name__, lambda: __all__)
