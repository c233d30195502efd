"""Hostile wasi-nn guests (issue 7): generated WAT modules that attack the witx ABI."""
