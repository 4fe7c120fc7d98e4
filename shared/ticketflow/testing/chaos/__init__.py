"""The chaos soaks (benchmark W3 and its short versions in the test suite): runs of
the real workflow with faults injected at random, then the invariants checked from
the stores. One implementation, called by ``bench/w3.py`` / ``bench/w3_cloud.py``
and by ``tests/integration/test_chaos_short.py`` / ``test_chaos_cloud_short.py``:

* :func:`ticketflow.testing.chaos.embedded.run_embedded_soak`: the embedded default,
  worker processes sharing one libSQL file (:mod:`ticketflow.testing.chaos.worker`);
* :func:`ticketflow.testing.chaos.cloud.run_cloud_soak`: the cloud shape on the
  emulator suite, the functions process killed and restarted.

Both return one dict whose ``violated`` lists the invariants that did not hold
(:data:`~ticketflow.testing.chaos.common.INVARIANTS`, each a count that must be 0).
"""
