"""Tools for proving the store survives faults: kills, signals, full disks.

A *trial* runs real ``yanex`` processes against a fresh store, injects one
fault (a signal at a random moment, a full disk), lets everything settle,
and then checks the store against what the scripts acknowledged in a
*witness* file outside the store (see :mod:`faultkit.witness`). Trials are
seeded: the same kind and seed replay the same fault timing. Counts of
what was injected and checked go to :mod:`faultkit.figures`.
"""
