"""Reading users' files: formats, archives, limits, text tables, polygon layers, column roles.

The face is :mod:`diagnosis.io.reading`; the importer
(:mod:`diagnosis.importer`) and the care loaders (:mod:`coverage.loaders`)
read through it.
"""
