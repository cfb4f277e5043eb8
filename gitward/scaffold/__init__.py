"""Scaffolding for new GitOps repositories (``gitward init``). Pure file generation."""

from gitward.scaffold.init import ENVIRONMENTS, LAYOUTS, InitOptions, default_image, plan, write

__all__ = ["ENVIRONMENTS", "LAYOUTS", "InitOptions", "default_image", "plan", "write"]
