"""Notifications the way Argo CD Notifications configures them: services, templates,
triggers and subscriptions from ``argocd-notifications-cm``, delivered once per state change.

Layer: beside the controller; conditions and templates run in Go (render.gotemplate).
"""

from gitward.notify.config import NotificationConfig, parse_config
from gitward.notify.engine import Delivery, Destination, destinations, plan
from gitward.notify.notifier import Notifier
from gitward.notify.services import DeliveryFailed

__all__ = [
    "Delivery",
    "DeliveryFailed",
    "Destination",
    "NotificationConfig",
    "Notifier",
    "destinations",
    "parse_config",
    "plan",
]
