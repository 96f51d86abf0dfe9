"""How the NWB export stores its large datasets: chunking, compression, block copies.

Large datasets are chunked (about :data:`CHUNK_BYTES` per chunk) and, at a
gzip level above 0 (``export.compression_level``), gzip-compressed with the
HDF5 shuffle filter; values are stored exactly at any level. The signals are
copied from ``signals.h5`` a block at a time (:class:`TimeMajor`), so memory
stays bounded whatever the length of the run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import h5py
import numpy as np
from hdmf.backends.hdf5.h5_utils import H5DataIO
from hdmf.common import VectorData
from hdmf.data_utils import GenericDataChunkIterator

#: Target size of one HDF5 chunk (bytes): within HDF5's default chunk cache.
CHUNK_BYTES = 1 << 20


class TimeMajor(GenericDataChunkIterator):
    """A channels x time HDF5 dataset served as time x channels, a block at a time.

    NWB stores time along the first axis, ``signals.h5`` along the last; the
    copy is made in blocks of whole chunks, so memory stays bounded whatever
    the length of the run.

    Parameters
    ----------
    dataset : h5py.Dataset
        A 2-D channels x time dataset (kept open by the caller).
    """

    def __init__(self, dataset: h5py.Dataset) -> None:
        self._dataset = dataset
        channels, times = dataset.shape
        rows = int(max(1, min(times, CHUNK_BYTES // (dataset.dtype.itemsize * max(channels, 1)))))
        super().__init__(
            chunk_shape=(rows, channels), buffer_shape=(min(times, 16 * rows), channels)
        )

    def _get_data(self, selection: tuple[slice, ...]) -> np.ndarray:
        rows, channels = selection
        return np.ascontiguousarray(self._dataset[channels, rows].T)

    def _get_maxshape(self) -> tuple[int, int]:
        channels, times = self._dataset.shape
        return (times, channels)

    def _get_dtype(self) -> np.dtype:
        return self._dataset.dtype


def series_data(dataset: h5py.Dataset, level: int) -> H5DataIO:
    """A channels x time dataset as chunked, compressed time x channels NWB data.

    Parameters
    ----------
    dataset : h5py.Dataset
        A 2-D channels x time dataset of ``signals.h5``, open until written.
    level : int
        gzip level (0: uncompressed).
    """
    if level:
        return H5DataIO(
            TimeMajor(dataset), compression="gzip", compression_opts=level, shuffle=True
        )
    return H5DataIO(TimeMajor(dataset))


def dataio(data: np.ndarray, level: int) -> Any:
    """A 1-D or 2-D array chunked along its first axis and gzip-compressed (level > 0).

    An empty array is returned as is: HDF5 cannot chunk a dataset of size 0.
    """
    data = np.asarray(data)
    if data.size == 0:
        return data
    row_bytes = data.itemsize * int(np.prod(data.shape[1:], dtype=np.int64))
    rows = int(max(1, min(data.shape[0], CHUNK_BYTES // row_bytes)))
    options: dict[str, Any] = {"chunks": (rows, *data.shape[1:])}
    if level:
        options.update(compression="gzip", compression_opts=level, shuffle=True)
    return H5DataIO(data, **options)


def text_column(
    name: str, description: str, values: Sequence[str], which: np.ndarray, level: int
) -> VectorData:
    """A text column holding ``values[which[i]]`` in row i (compressed references).

    Parameters
    ----------
    name, description : str
        NWB name and description of the column.
    values : sequence of str
        The distinct texts (e.g. population names).
    which : numpy.ndarray
        Index into ``values`` of each row.
    level : int
        gzip level (0: uncompressed).
    """
    rows = np.asarray(values, dtype=object)[which].tolist()
    options: dict[str, Any] = {"chunks": (max(1, min(len(rows), CHUNK_BYTES // 16)),)}
    if level:
        options.update(compression="gzip", compression_opts=level, shuffle=True)
    return VectorData(
        name=name, description=description, data=H5DataIO(rows, **options) if rows else rows
    )
