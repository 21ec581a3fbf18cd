"""Exports of results: spreadsheets and PDF documents (award lists, certificates, the case booklet)."""
