"""Images in the source of truth: parse references, change them where Git keeps them, push.

Layer: beside the controller (it uses :mod:`gitward.source` for git and
credentials). The editing half is pure file work; :mod:`gitward.images.gitpush`
adds commits and race-proof pushes; :mod:`gitward.images.updater` is the
automation loop the controller runs (registries polled, changes written back).
"""

from gitward.images.editors import Edited, FileEdit, ImageNotFound
from gitward.images.imageset import KINDS, Outcome, Target, edit_source, set_images
from gitward.images.reference import ImageChange, ImageRef, ImageRefError, parse_change, parse_image
from gitward.images.updater import ImageUpdater

__all__ = [
    "KINDS",
    "Edited",
    "FileEdit",
    "ImageChange",
    "ImageNotFound",
    "ImageRef",
    "ImageRefError",
    "ImageUpdater",
    "Outcome",
    "Target",
    "edit_source",
    "parse_change",
    "parse_image",
    "set_images",
]
