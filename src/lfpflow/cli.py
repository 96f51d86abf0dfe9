"""Command line: ``lfpflow inspect FILE``, ``lfpflow validate CONFIG...``, ``lfpflow config``.

``inspect`` lists every dataset of an lfpflow HDF5 file with its shape, dtype
and units, and the root attributes (provenance); ``validate`` merges one or more
configuration overlays over the defaults, checks the result and prints the
resolved configuration or the problems, naming each key; ``config`` prints the
complete default configuration (with overlays merged over it, if given).
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


def _validate(paths: Sequence[str]) -> int:
    from lfpflow.config import ConfigError
    from lfpflow.resolve import load_config

    try:
        resolved = load_config(*paths)
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
    validate = commands.add_parser(
        "validate", help="validate configuration overlays (merged in order over the defaults)"
    )
    validate.add_argument("config", nargs="+")
    show = commands.add_parser(
        "config", help="print the complete configuration: the defaults with any overlays merged"
    )
    show.add_argument("config", nargs="*")
    args = parser.parse_args(argv)
    try:
        if args.command == "inspect":
            return _inspect(args.file)
        return _validate(args.config)  # `config` and `validate` print the same
    except BrokenPipeError:
        # output piped into `head` and the like: stop quietly, as Unix tools do
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
