"""DORA metrics from Git and sync history: deployment frequency, lead time, change failure
rate, time to restore. Recorded durably as events happen (:mod:`gitward.dora.store`),
computed on demand (:func:`gitward.dora.records.figures`)."""

from gitward.dora.records import Deployment, Figures, Incident, Record, figures

__all__ = ["Deployment", "Figures", "Incident", "Record", "figures"]
