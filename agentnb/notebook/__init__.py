"""Notebook integration: headless execution now; magics, widgets and renderers build on it.

Importing this package stays cheap (no nbclient, nbformat or IPython): each module imports
its heavy dependencies when first used.
"""

from agentnb.notebook.execute import CellReport, NotebookSummary, execute_notebook

__all__ = ["CellReport", "NotebookSummary", "execute_notebook"]
