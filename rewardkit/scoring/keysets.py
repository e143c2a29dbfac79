"""Sets of 8-byte row-key digests for finding duplicate ids in one pass: exact (:class:`KeySet`) or Bloom."""

from __future__ import annotations


class KeySet:
    """A set of 8-byte key digests with a small value each, in two numpy arrays (16 bytes a slot).

    Open addressing with linear probing, at most half full: ~32 bytes per row, where a Python set
    of the keys would take ~100.
    """

    def __init__(self) -> None:
        import numpy as np

        self._np = np
        self._keys = np.zeros(1 << 12, dtype=np.uint64)
        self._vals = np.zeros(1 << 12, dtype=np.int64)
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def _slot(self, k: int) -> int:
        keys = self._keys
        mask = len(keys) - 1
        i = k & mask
        while True:
            cur = int(keys[i])
            if cur == 0 or cur == k:
                return i
            i = (i + 1) & mask

    def add(self, digest: bytes, value: int) -> int | None:
        """Insert; the value already stored for this digest if it was there (then nothing changes)."""
        k = int.from_bytes(digest, "little") or 1
        i = self._slot(k)
        if int(self._keys[i]) == k:
            return int(self._vals[i])
        self._keys[i] = k
        self._vals[i] = value
        self._n += 1
        if 2 * self._n > len(self._keys):
            self._grow()
        return None

    def __contains__(self, digest: bytes) -> bool:
        k = int.from_bytes(digest, "little") or 1
        return int(self._keys[self._slot(k)]) == k

    def _grow(self) -> None:
        np = self._np
        old_keys, old_vals = self._keys, self._vals
        used = old_keys != 0
        keys, vals = old_keys[used], old_vals[used]
        size = len(old_keys) * 2
        self._keys = np.zeros(size, dtype=np.uint64)
        self._vals = np.zeros(size, dtype=np.int64)
        mask = np.uint64(size - 1)
        slots = keys & mask
        # vectorised linear probing: place what lands in a free slot, move the rest one slot on
        pending = np.arange(len(keys))
        while len(pending):
            s = slots[pending]
            order = np.argsort(s, kind="stable")
            s_sorted = s[order]
            first = np.ones(len(s_sorted), dtype=bool)
            first[1:] = s_sorted[1:] != s_sorted[:-1]
            cand = pending[order[first]]
            free = self._keys[slots[cand]] == 0
            placed = cand[free]
            self._keys[slots[placed]] = keys[placed]
            self._vals[slots[placed]] = vals[placed]
            mask_placed = np.zeros(len(keys), dtype=bool)
            mask_placed[placed] = True
            pending = pending[~mask_placed[pending]]
            slots[pending] = (slots[pending] + np.uint64(1)) & mask


class BloomFilter:
    """Membership of 8-byte key digests in 12 bits a key (4 probes; under 0.7 % false positives when full).

    Grows by adding a filter twice the size when its capacity is reached, so the false-positive
    rate holds whatever the row count.
    """

    def __init__(self, capacity: int = 1 << 16) -> None:
        self._filters: list[tuple[bytearray, int, int]] = []
        self._count = 0
        self._capacity = 0
        self._new(capacity)

    def _new(self, capacity: int) -> None:
        bits = max(1 << 16, capacity * 12)
        self._filters.append((bytearray((bits >> 3) + 1), bits, capacity))
        self._capacity += capacity

    @staticmethod
    def _probes(digest: bytes, bits: int) -> list[int]:
        h1 = int.from_bytes(digest[:4], "little")
        h2 = int.from_bytes(digest[4:], "little") | 1
        return [h1 % bits, (h1 + h2) % bits, (h1 + 2 * h2) % bits, (h1 + 3 * h2) % bits]

    def __contains__(self, digest: bytes) -> bool:
        for array, size, _ in self._filters:
            if all(array[i >> 3] & (1 << (i & 7)) for i in self._probes(digest, size)):
                return True
        return False

    def add(self, digest: bytes) -> bool:
        """Insert; whether the digest may have been there already (never a false no)."""
        present = digest in self
        if not present:
            if self._count >= self._capacity:
                self._new(2 * self._filters[-1][2])
            array, size, _ = self._filters[-1]
            for i in self._probes(digest, size):
                array[i >> 3] |= 1 << (i & 7)
            self._count += 1
        return present
