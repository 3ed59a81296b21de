"""Scaffolds: the copier templates a service is made of, where they live, how they render."""

from paved.scaffold.registry import Layer, Question, Scaffold, ScaffoldRegistry, bundled_root

__all__ = ["Layer", "Question", "Scaffold", "ScaffoldRegistry", "bundled_root"]
