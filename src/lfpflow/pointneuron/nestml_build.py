"""Build our NESTML neuron models into a NEST extension module.

NESTML (``pynestml``) turns ``.nestml`` files into C++ and compiles them with
CMake against an installed NEST. The PyPI wheel of NEST 3.10 needs three
adjustments, all made here so that users only run ``pip install``:

* its ``nest-config`` reports the paths of the temporary folder the wheel was
  built in, so a small replacement is written into the build folder and
  handed to NESTML (code-generator option ``nest_path``);
* the wheel was compiled with the pre-C++11 libstdc++ ABI (manylinux2014,
  devtoolset), so the module must be compiled with
  ``-D_GLIBCXX_USE_CXX11_ABI=0``; otherwise ``nest.Install`` fails with a
  misleading "file not found" (the real error is an unresolved symbol);
* the Boost headers come from the ``boost-headers`` PyPI package and the GSL
  and libltdl headers from Debian's ``libgsl-dev libltdl-dev``; nothing is
  linked, the module's NEST, GSL and OpenMP symbols resolve at load time
  against the libraries bundled in the wheel.

The generation and compilation run in a child Python process: ``pynestml``
keeps global state between calls and may call ``sys.exit``, neither of which
should touch the calling process (a Snakemake job or a pytest session). The
whole build happens in a temporary folder beside the destination, renamed at
the end, so a killed build never leaves a folder that looks complete.

This module imports neither ``pynestml`` nor ``nest`` at import time.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from lfpflow.io import atomic_directory

log = logging.getLogger(__name__)

#: Folder of the workflow's NESTML module (rule ``build_nestml``), relative to
#: the workflow's working directory: the one spelling of it that the rules
#: (``neurons.smk``, ``common.smk``) and the simulation code's defaults use.
NESTML_BUILD_DIR = "build/nestml"

#: Name of the JSON file, inside the build folder, describing the build.
BUILD_INFO = "build_info.json"

#: Compiler flags of the wheel's own ``nest-config --cflags`` (minus colour
#: output), plus the old libstdc++ ABI the wheel was compiled with.
_CXXFLAGS = "-Wall -fopenmp -O2 -DNDEBUG -std=c++20 -D_GLIBCXX_USE_CXX11_ABI=0"

#: Name of the build log (NESTML's and the compiler's output) in the build folder.
_BUILD_LOG = "build.log"

#: Lines of the build log quoted in the error message of a failed build.
_LOG_TAIL_LINES = 60

# Child-process program: generate C++ code and build it. Arguments arrive as
# one JSON string so that paths with spaces need no quoting.
_GENERATE = """
import json, sys
from pynestml.frontend.pynestml_frontend import generate_nest_target
args = json.loads(sys.argv[1])
generate_nest_target(
    input_path=args["input_path"],
    target_path=args["target_path"],
    install_path=args["install_path"],
    module_name=args["module_name"],
    logging_level="INFO",
    codegen_opts={"nest_path": args["nest_path"]},
)
"""


def nest_package_dir() -> Path:
    """Folder of the installed ``nest`` Python package, found without importing it.

    Raises
    ------
    ModuleNotFoundError
        If NEST's Python package is not installed.
    """
    spec = importlib.util.find_spec("nest")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            "the `nest` package (pip install nest-simulator) is not installed"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def boost_include_dir() -> Path:
    """Boost header folder of the ``boost-headers`` PyPI package.

    Raises
    ------
    ModuleNotFoundError
        If ``boost-headers`` is not installed.
    """
    spec = importlib.util.find_spec("boost_headers")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(
            "the `boost-headers` package (pip install boost-headers) is missing"
        )
    return Path(spec.origin).parent / "include"


def write_nest_config(prefix: Path, *, compiler: str | None = None) -> Path:
    """Write a ``nest-config`` for the pip-installed NEST into ``prefix/bin``.

    NESTML's CMake file asks ``nest-config`` for the compiler, flags, include
    folders and libraries. The wheel's script answers with its build machine's
    paths, so this one answers with the paths of this installation.

    Parameters
    ----------
    prefix : Path
        Folder to hold ``bin/nest-config``; pass it to NESTML as ``nest_path``.
    compiler : str, optional
        C++ compiler; default: ``$CXX`` or ``g++`` on ``PATH``.

    Returns
    -------
    Path
        The executable script.

    Raises
    ------
    FileNotFoundError
        If no C++ compiler is found.
    """
    compiler = compiler or os.environ.get("CXX") or shutil.which("g++")
    if not compiler or shutil.which(compiler) is None:
        raise FileNotFoundError("no C++ compiler found (install g++ or set CXX)")
    compiler = shutil.which(compiler) or compiler
    nest_dir = nest_package_dir()
    includes = f"-I{nest_dir / 'include' / 'nest'} -I{boost_include_dir()}"
    # Nothing is linked: NEST, GSL and OpenMP symbols are resolved when the
    # module is loaded, against the copies bundled in the wheel (PyNEST loads
    # its kernel with RTLD_GLOBAL). So the process holds one GSL, the one NEST
    # uses; Debian's libgsl-dev only provides the (API-compatible) headers.
    libs = ""
    answers = {
        "--prefix": str(nest_dir),
        "--exec-prefix": str(nest_dir),
        "--version": metadata.version("nest-simulator"),
        "--includes": includes,
        "--cflags": _CXXFLAGS,
        "--libs": libs,
        "--compiler": compiler,
        "--compiler-name": "GNU",
        "--compiler-version": _compiler_version(compiler),
        "--python-executable": sys.executable,
        "--python-version": ".".join(map(str, sys.version_info[:3])),
        "--static-libraries": "OFF",
        "--docdir": "share/doc/nest",
        "--datadir": "share/nest",
        "--libdir": "lib",
    }
    cases = "\n".join(f"    {opt}) echo {_sh_quote(val)} ;;" for opt, val in answers.items())
    script = (
        "#!/bin/sh\n"
        "# nest-config for the pip-installed NEST, written by lfpflow.pointneuron.nestml_build\n"
        'for opt in "$@"; do\n'
        '  case "$opt" in\n'
        f"{cases}\n"
        '    *) echo "nest-config: unknown option $opt" >&2; exit 1 ;;\n'
        "  esac\n"
        "done\n"
    )
    path = Path(prefix) / "bin" / "nest-config"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(script)
    path.chmod(0o755)
    return path


def build_nest_module(
    model_files: Sequence[str | os.PathLike],
    build_dir: str | os.PathLike,
    *,
    module_name: str = "lfpflowmodule",
) -> Path:
    """Generate, compile and install a NEST module from NESTML model files.

    Everything is built in a temporary folder beside ``build_dir`` that is
    renamed to ``build_dir`` only once the module library exists; an existing
    ``build_dir`` is replaced. The folder then holds ``<module_name>.so``, the
    generated sources (``src/``), the ``nest-config`` used, the build log
    (``build.log``) and :data:`BUILD_INFO` (inputs with SHA-256, versions,
    build time).

    Parameters
    ----------
    model_files : sequence of path-like
        ``.nestml`` files; every model in them goes into the one module.
    build_dir : path-like
        Destination folder (e.g. ``build/nestml``).
    module_name : str
        Name of the NEST module; NESTML requires it to end in ``module``.

    Returns
    -------
    Path
        The module library ``build_dir/<module_name>.so``; load it with
        :func:`install_module` (``module_dir`` is its parent folder).

    Raises
    ------
    ValueError
        If no model file is given, one does not end in ``.nestml`` or the
        module name does not end in ``module``.
    FileNotFoundError
        If a model file, the compiler, NEST or ``boost-headers`` is missing.
    RuntimeError
        If NESTML or the compiler fails, or no library was produced (NESTML
        returns normally when a model has errors, so the library's existence is
        the test); the message ends with the tail of the build log.
    """
    files = _model_paths(model_files)
    _check_module_name(module_name)
    if shutil.which("cmake") is None or shutil.which("make") is None:
        raise FileNotFoundError("cmake and make are needed to build NESTML models")

    build_dir = Path(build_dir).resolve()
    with atomic_directory(build_dir) as staging:
        nest_config = write_nest_config(staging / "nest-config")
        inputs = _copy_models(files, staging / "models")
        log.info("building NEST module %s from %d NESTML file(s)", module_name, len(files))
        returncode, seconds = _run_nestml(
            inputs, staging, module_name=module_name, nest_path=nest_config.parent.parent
        )
        library = staging / f"{module_name}.so"
        _check_library(library, returncode, module_name=module_name)
        log.info("built %s in %.1f s", library.name, seconds)
        info = _build_info(files, module_name, seconds, nest_config)
        (staging / BUILD_INFO).write_text(json.dumps(info, indent=2) + "\n")
    return build_dir / f"{module_name}.so"


def _model_paths(model_files: Sequence[str | os.PathLike]) -> list[Path]:
    """Absolute paths of the model files, checked before anything is built.

    Parameters
    ----------
    model_files : sequence of path-like
        ``.nestml`` files.

    Returns
    -------
    list of Path
        The resolved paths, in the given order.

    Raises
    ------
    ValueError
        If the sequence is empty or a file does not end in ``.nestml``.
    FileNotFoundError
        If a file does not exist.
    """
    files = [Path(f).resolve() for f in model_files]
    if not files:
        raise ValueError("no NESTML model files given")
    for path in files:
        if path.suffix != ".nestml":
            raise ValueError(f"not a .nestml file: {path}")
        if not path.is_file():
            raise FileNotFoundError(f"NESTML model file not found: {path}")
    return files


def _check_module_name(module_name: str) -> None:
    """Check the module name before anything is generated or compiled.

    NESTML requires the ``module`` suffix, and the name becomes a C++ and a
    file name, hence an identifier.

    Raises
    ------
    ValueError
        If ``module_name`` is not an identifier ending in ``module``.
    """
    if not module_name.endswith("module") or not module_name.isidentifier():
        raise ValueError(
            f"module_name must be an identifier ending in 'module', got {module_name!r}"
        )


def _copy_models(files: Sequence[Path], models_dir: Path) -> list[Path]:
    """Copy the model files into ``models_dir`` (created) and return the copies.

    NESTML reads the models from a folder or file list; the copies keep the
    exact text that was compiled next to the library.
    """
    models_dir.mkdir()
    for path in files:
        shutil.copy2(path, models_dir / path.name)
    return [models_dir / path.name for path in files]


def _run_nestml(
    inputs: Sequence[Path], staging: Path, *, module_name: str, nest_path: Path
) -> tuple[int, float]:
    """Generate and compile the module in a child process, logging to ``build.log``.

    A child process, because ``pynestml`` keeps global state between calls and
    may call ``sys.exit`` (see the module docstring).

    Parameters
    ----------
    inputs : sequence of Path
        The ``.nestml`` files to compile.
    staging : Path
        Build folder: working directory, install folder (the library lands
        here), generated sources in ``src/`` and the log in ``build.log``.
    module_name : str
        Name of the NEST module.
    nest_path : Path
        Prefix holding ``bin/nest-config`` (see :func:`write_nest_config`).

    Returns
    -------
    tuple
        Exit code of the child process, and the wall-clock time it took (s).
    """
    args = {
        "input_path": [str(path) for path in inputs],
        "target_path": str(staging / "src"),
        "install_path": str(staging),
        "module_name": module_name,
        "nest_path": str(nest_path),
    }
    started = time.perf_counter()
    with (staging / _BUILD_LOG).open("w") as log_file:
        result = subprocess.run(
            [sys.executable, "-c", _GENERATE, json.dumps(args)],
            cwd=staging,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=_build_env(),
            check=False,
        )
    return result.returncode, time.perf_counter() - started


def _check_library(library: Path, returncode: int, *, module_name: str) -> None:
    """Raise unless NESTML exited normally and ``library`` exists.

    NESTML returns normally when a model has errors, so the library's
    existence is the test; the message quotes the end of the build log (in
    the library's folder).

    Raises
    ------
    RuntimeError
        If the build failed.
    """
    if returncode == 0 and library.is_file():
        return
    reason = (
        f"NESTML exited with code {returncode}"
        if returncode != 0
        else f"NESTML produced no {library.name} (errors in a model?)"
    )
    raise RuntimeError(
        f"building NEST module {module_name} failed: {reason}.\n"
        f"Build log (end):\n{_tail(library.parent / _BUILD_LOG)}"
    )


def install_module(nest: Any, module_dir: str | os.PathLike, module_name: str) -> None:
    """Load a module built by :func:`build_nest_module` into the NEST kernel.

    ``nest.ResetKernel()`` unloads user modules, so call this after every
    reset; calling it when the module is already loaded does nothing.

    Parameters
    ----------
    nest : module
        The imported ``nest`` package.
    module_dir : path-like
        Folder holding ``<module_name>.so``.
    module_name : str
        Module name given to :func:`build_nest_module`.

    Raises
    ------
    FileNotFoundError
        If ``<module_name>.so`` is not in ``module_dir``.
    """
    library = Path(module_dir).resolve() / f"{module_name}.so"
    if not library.is_file():
        raise FileNotFoundError(f"NEST module library not found: {library}")
    # Given a bare name, NEST searches its own library folder and
    # LD_LIBRARY_PATH (read by libltdl); an absolute path without the
    # extension is opened directly, so no environment variable is touched.
    try:
        nest.Install(str(library.with_suffix("")))
    except Exception as error:  # NEST raises its own kernel exception classes
        # Installing twice between resets is an error in NEST; here it is a no-op.
        if "loaded already" in str(error):
            return
        raise


def _build_env() -> dict[str, str]:
    env = dict(os.environ)
    # NESTML imports nest in the child to detect its version; keep the banner
    # out of the build log. (make -j is min(CPUs, 4), NESTML's default.)
    env.setdefault("PYNEST_QUIET", "1")
    return env


def _build_info(
    files: Sequence[Path], module_name: str, seconds: float, nest_config: Path
) -> dict[str, Any]:
    versions = {}
    for name in ("nestml", "nest-simulator", "odetoolbox", "sympy", "boost-headers"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    compiler = subprocess.run(
        [str(nest_config), "--compiler"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return {
        "module_name": module_name,
        "models": {
            path.name: {
                "source": str(path),
                "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            }
            for path in files
        },
        "versions": versions,
        "compiler": compiler,
        "compiler_version": _compiler_version(compiler),
        "cxxflags": _CXXFLAGS,
        "build_seconds": round(seconds, 2),
    }


def _compiler_version(compiler: str) -> str:
    try:
        out = subprocess.run(
            [compiler, "-dumpfullversion", "-dumpversion"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout
    except OSError:
        return "unknown"
    return out.strip() or "unknown"


def _sh_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def _tail(path: Path, lines: int = _LOG_TAIL_LINES) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no build log)"
