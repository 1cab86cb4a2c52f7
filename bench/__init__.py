"""Benchmarks (run from the repository root: ``python -m bench.bench_chain``); see bench/README.md."""
