"""The ``gitward`` command: the top layer, which may import every other."""
