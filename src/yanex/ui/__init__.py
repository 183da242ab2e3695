"""``yanex ui``: a small local web page over the experiment store.

The page is read-mostly: every answer comes through the library
(:mod:`yanex.query`, :class:`yanex.experiment.Experiment`), and the one
write, renaming and retagging, goes through :func:`yanex.manage.update`.
The web framework (Starlette and uvicorn, the ``yanex[ui]`` extra) is
imported only by :mod:`yanex.ui.server` and :mod:`yanex.ui.command`, so
``import yanex`` and ``yanex run`` never pay for it.
"""
