"""Helpers with no knowledge of gitward's domain: YAML, hashing, asyncio.

The lowest layer: it imports nothing from the rest of gitward.
"""
