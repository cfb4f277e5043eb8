"""DORA metrics from Git and sync history: deployment frequency, lead time, change failure
rate, time to restore. Recorded durably as events happen — by the controller's
:class:`~gitward.dora.recorder.Recorder`, into :mod:`gitward.dora.store` — and computed on
demand (:func:`gitward.dora.records.figures`)."""

from gitward.dora.recorder import GitCommits, Happened, Recorder
from gitward.dora.records import Deployment, Figures, Incident, Record, figures

__all__ = [
    "Deployment",
    "Figures",
    "GitCommits",
    "Happened",
    "Incident",
    "Record",
    "Recorder",
    "figures",
]
