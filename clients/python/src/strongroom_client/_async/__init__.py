"""The asynchronous client. ``strongroom_client/_sync`` is generated from this
package by ``tools/unasync.py`` (a test fails when it is stale): edit here only."""
