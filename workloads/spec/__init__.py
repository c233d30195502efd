"""The workload file format: a workload TOML (`workload.py`), its `[program]` table
(`program_file.py`), field-by-field validation with file+field errors (`fields.py`) and
the input generators a workload names (`inputs.py`). docs/workloads.md describes it.

It sits beside the workload files it reads and imports only `contracts` and the rest of
`workloads` (the zoo builders, the adapter), never `bench`.
"""
