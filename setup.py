"""Installs every top-level module of this repository (the flat layout the catalogue keeps: the engine, the CLIs
and the library modules side by side) and the studies package; the metadata is in pyproject.toml."""
import pathlib

from setuptools import setup

here = pathlib.Path(__file__).parent
setup(py_modules=sorted(p.stem for p in here.glob("*.py") if p.stem != "setup"),
      packages=[p.parent.name for p in here.glob("*/__init__.py") if p.parent.name != "tests"])
