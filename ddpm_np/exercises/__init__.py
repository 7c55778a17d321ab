"""Exercises: the library's key functions as stubs to fill in, checked by the project's oracles
(`ddpm-np exercises DIR`). catalog.py lists them; workspace.py writes and checks a workspace;
workspace_tests.py is the tests a workspace gets."""
from .catalog import BY_ID, EXERCISES, Exercise, hint
from .workspace import WorkspaceError, status, status_table, workspace_files, write_workspace

__all__ = ["BY_ID", "EXERCISES", "Exercise", "WorkspaceError", "hint", "status", "status_table",
           "workspace_files", "write_workspace"]
