"""Detection: normalisation, indicator lexicons, the classifier, incremental early warning.

Public entry points::

    from tutela.detect import load_model, IncrementalScorer, ScoringTables, WarningRule, analyze
"""

from __future__ import annotations

from tutela.detect.analyze import AnalysisResult, analyze
from tutela.detect.config import DetectionConfig, load_detection_config
from tutela.detect.evaluate import TASKS, evaluate
from tutela.detect.incremental import IncrementalScorer, ScoringTables, WarningRule
from tutela.detect.model import Document, GroomingClassifier
from tutela.detect.persistence import load_model, save_model

__all__ = [
    "TASKS",
    "AnalysisResult",
    "DetectionConfig",
    "Document",
    "GroomingClassifier",
    "IncrementalScorer",
    "ScoringTables",
    "WarningRule",
    "analyze",
    "evaluate",
    "load_detection_config",
    "load_model",
    "save_model",
]
