"""Vocabulary every stage may import: zones and CRS, text normalisation, rules, the model.

Nothing here imports another layer of :mod:`diagnosis`: the referential
(:mod:`~diagnosis.core.referential`), the perimeter model
(:mod:`~diagnosis.core.model`), the commune resolver
(:mod:`~diagnosis.core.communes`) and the rules read from ``data/rules/``
(the stage vocabulary :mod:`~diagnosis.core.statuses`, the ACI rules
:mod:`~diagnosis.core.aci`) sit at the bottom of the house.
"""
