"""Diagnosis of CPTS territories: referential, perimeter import, checks, overlaps, white zones."""
