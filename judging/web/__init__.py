"""The web layer: thin Flask blueprints by audience that read a form, call one service through
:func:`actions.attempt` (the one place that commits) and render; objects named by a URL are found, with
their access checked, by :mod:`lookups`, and every access rule lives in :mod:`permissions`.
"""
