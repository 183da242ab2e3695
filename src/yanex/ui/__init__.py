"""The web page of ``yanex ui``: a small local server over the store.

The page is read-mostly: every answer comes through the library
(:mod:`yanex.query`, :class:`yanex.experiment.Experiment`), and the one
write, renaming and retagging, goes through :func:`yanex.manage.update`.
The web framework (Starlette and uvicorn, the ``yanex[ui]`` extra) is
imported by :mod:`yanex.ui.server` and its helpers, which only the
``yanex ui`` command loads, so ``import yanex`` and ``yanex run`` never
pay for it. The API and its safeguards are described in ``docs/ui.md``.
"""
