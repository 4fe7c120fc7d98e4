"""The test and benchmark harness: crash injection, the fake Messages API.

Used by ``tests/`` and ``bench/`` alike; production code never imports it.
"""
