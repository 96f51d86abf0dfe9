"""Command line: ``lfpflow inspect FILE`` and ``lfpflow validate CONFIG``.

``inspect`` lists every dataset of an lfpflow HDF5 file with its shape, dtype
and units, and the root attributes (provenance); ``validate`` checks a
configuration file against the schema and prints the resolved configuration
or the problems, naming each key.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import yaml


def _inspect(path: str) -> int:
    import h5py

    def show(name: str, item: h5py.HLObject) -> None:
        if isinstance(item, h5py.Dataset):
            units = item.attrs.get("units", "?")
            print(f"  {name:40s} {str(item.shape):18s} {str(item.dtype):8s} [{units}]")

    with h5py.File(path, "r") as h5:
        print(f"{path}")
        print(" datasets:")
        h5.visititems(show)
        print(" attributes:")
        for key, value in h5.attrs.items():
            print(f"  {key} = {value}")
    return 0


def _validate(path: str) -> int:
    from lfpflow.config import ConfigError, load_yaml, resolve_config

    try:
        resolved = resolve_config(load_yaml(path))
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 1
    print(yaml.safe_dump(resolved, sort_keys=False), end="")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``lfpflow`` command."""
    parser = argparse.ArgumentParser(prog="lfpflow", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    inspect = commands.add_parser("inspect", help="list datasets, units and provenance of a file")
    inspect.add_argument("file")
    validate = commands.add_parser("validate", help="validate a configuration file")
    validate.add_argument("config")
    args = parser.parse_args(argv)
    try:
        if args.command == "inspect":
            return _inspect(args.file)
        return _validate(args.config)
    except BrokenPipeError:
        # output piped into `head` and the like: stop quietly, as Unix tools do
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
