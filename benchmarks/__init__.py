"""Proof at scale: seed a large data set, load the portal and API, time provisioning.

Run with `python -m benchmarks` (or `make bench`); `--quick` for a small-scale run and
`--only SECTION` for one section. Results go to `benchmarks/results/<name>-<timestamp>.json`.
"""
