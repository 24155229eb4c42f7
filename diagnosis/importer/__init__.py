"""The perimeter importer: claims from tables and polygons, resolution, the import report.

The face is :func:`diagnosis.importer.perimeters.import_perimeters`. Only entry
points (the command line, the app, notebooks) import the importer; the
analysis reads the :class:`~diagnosis.core.model.PerimeterImport` it returns.
"""
