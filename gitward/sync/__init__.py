"""The sync engine: an operation as a step function over the Application's record.

Layer 5, above :mod:`gitward.appstate` (an Application's compared state, its status,
lock and history), below the controller. A step plans the sync from a comparison
(phases, waves, kind order), overlays what ``status.operationState`` recorded, does one
bounded piece of work (one wave's applies, or one check of running hooks) and records
it; results are data (:class:`~gitward.sync.attempt.OperationResult`), printing is the
CLI's job.
"""
