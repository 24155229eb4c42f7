"""Loaders of official care files (DREES APL, Annuaire santé, BPE, ages, FINESS) and downloads.

Each loader reads one official format, attaches its figures to the
referential's units (:mod:`~coverage.loaders.normalise`) and reports what it
kept and what it did not.
"""
