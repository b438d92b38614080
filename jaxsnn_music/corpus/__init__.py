"""Corpus sources, the parse cache and corpus statistics."""
