"""Instructor and CI tooling for the course: everything that is not for students.

Run from the repository root, as modules::

    python -m tools.authoring sync|check|record     # solutions/ -> notebooks/ (one source)
    python -m tools.build --profile cpu [NAME ...]   # the instructor build and its results report
    python -m tools.dryrun [NAME ...]                # the gpu profile's code paths on the CPU
    python -m tools.grading DIR [NAME ...]           # an nbgrader course directory
    python tools/lab.py                              # `make lab`: JupyterLab on the course

``tools.report`` reads, checks, merges and renders the results report of a build.

These modules only run from a checkout of the repository: they find it as the folder above
``tools/`` (``ROOT``), read ``solutions/``, ``notebooks/``, ``docs/`` and ``pyproject.toml``
there, and need the ``dev``/``instructor`` extras (nbformat, nbclient, papermill, nbconvert,
nbgrader). They import ``coursekit``; ``coursekit`` never imports them (tests/test_layers.py),
so a student's install holds none of this.
"""
