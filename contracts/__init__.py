"""The bottom layer: the facts every other part of the project shares.

Nothing here imports anything else of the project. `hosts/` and `workloads/`
import only this layer (and the backends); `bench/` imports all of them.

- `cells`: the matrix axes and `Cell`, the one identity of a cell
- `phases`: the names of the measured phases
- `jobs`: what crosses the worker boundary (`CellJob`, `RoundResult`, tensor specs,
  the cell exceptions)
- `dtypes`: the tensor element types
- `paths`: every folder the project reads or writes, with its environment override
- `machine`: facts about the machine a run measures on
"""
