"""Benchmarks of the kit: notebook run time, grading time, training throughput, padding, memory, FLOP/s.

Run ``python -m benchmarks`` (``--quick`` for tiny sizes); results go to ``benchmarks/results.json`` and
``benchmarks/results.md``. Speed and memory only: behaviour is checked by the tests.
"""
