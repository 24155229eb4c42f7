"""The analysis of a set of perimeters: membership, checks, overlaps, white zones, rates.

Everything here reads a :class:`~diagnosis.core.model.PerimeterImport` and a
:class:`~diagnosis.core.referential.Referential`; it never imports the
importer, the builder or the outputs. :func:`~diagnosis.analysis.pipeline.run_diagnosis`
runs the whole of it.
"""
