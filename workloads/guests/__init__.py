"""The wasm guests: the C driver and its bindings, the WIT, our adapters, their build
recipes and toolchain, `adapt` for any wasi-nn program, and the prebuilt binaries."""
