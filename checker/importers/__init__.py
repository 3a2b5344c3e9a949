"""Importers: the output of the tools people already run, turned into contract records."""
