"""The pure scoring engine (no Flask, no database): score tables in, ranked and explained results out.

:mod:`rules` holds the aggregation rules of DESIGN.md §3, :mod:`ranking` the pipeline, :mod:`eligibility`
who is ranked, :mod:`explanation` why each entry stands where it does, :mod:`awards` the award allocation,
:mod:`skills` the skills competitions, :mod:`reliability` and :mod:`robustness` the checks on a panel.
"""
