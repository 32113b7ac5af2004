"""Validation harness: suite cases, metrics tables and the report writer."""

from .harness import Case, read_suite, rewrite_report, run_case, run_suite
from .report import render_report

__all__ = ["Case", "read_suite", "render_report", "rewrite_report", "run_case", "run_suite"]
