"""
Which Microsoft Sentinel workspace a hunt's incidents go to, and the error when there is none.

A notebooklet result remembers the query provider it ran on. When that
provider queried a Microsoft Sentinel (Log Analytics) workspace, the
workspace's entry in ``msticpyconfig.yaml`` gives the subscription, resource
group and workspace name that msticpy's ``MicrosoftSentinel`` API client
needs. Hunts of local files, the demo, a DataFrame or the command line have
no workspace: they raise `WorkspaceNeededError` with what to do instead.

This module imports no heavy library when it is loaded (msticpy only inside
the functions that connect), so the command line can use its flag.
"""

from __future__ import annotations

import argparse
from typing import Any

from ..errors import AnomalousLogonsError

__all__ = [
    "NEEDS_WORKSPACE",
    "SentinelError",
    "WorkspaceNeededError",
    "add_to_sentinel_flag",
    "connect_workspace",
    "result_workspace",
]

#: The query environments whose workspace can take bookmarks and incidents.
SENTINEL_ENVIRONMENTS = frozenset({"MSSentinel", "LogAnalytics", "AzureSentinel", "MSSentinel_New"})

#: The keys of a workspace entry (``AzureSentinel: Workspaces:``) a write needs.
WORKSPACE_KEYS = ("SubscriptionId", "ResourceGroup", "WorkspaceName")

#: What to do when a hunt has no workspace; ``{why}`` says what it ran on.
NEEDS_WORKSPACE = (
    "sending incidents to Microsoft Sentinel needs a Microsoft Sentinel workspace, and {why}. "
    "Hunt the workspace itself: in the hunting notebook set data_source to a workspace name "
    "of msticpyconfig.yaml (or call nb.init('MSSentinel', workspace='<name>') before running "
    "the notebooklet), then call result.to_sentinel(incidents=[...]). Or name the workspace "
    "yourself: sentinel = MicrosoftSentinel(workspace_name='<name>'); sentinel.connect(); "
    "result.to_sentinel(incidents=[...], sentinel=sentinel)"
)


class SentinelError(AnomalousLogonsError):
    """Incidents could not be sent to Microsoft Sentinel (see the message)."""


class WorkspaceNeededError(SentinelError):
    """The hunt did not run on a Microsoft Sentinel workspace, and none was given."""


def _needs_workspace(why: str) -> WorkspaceNeededError:
    text = NEEDS_WORKSPACE.format(why=why)
    return WorkspaceNeededError(text[0].upper() + text[1:] + ".")


def _query_provider(result: Any) -> Any:
    """Return the query provider a notebooklet result ran on (None for a bare hunt)."""
    # NotebookletResult hands unknown attributes on to its notebooklet: read the dict.
    notebooklet = vars(result).get("notebooklet")
    return getattr(notebooklet, "query_provider", None)


def _configured_workspaces() -> dict[str, Any]:
    from msticpy.common.pkg_config import get_config

    settings = get_config("AzureSentinel", {}) or {}
    found = settings.get("Workspaces") if hasattr(settings, "get") else None
    return {str(key): dict(value or {}) for key, value in dict(found or {}).items()}


def _find_entry(connection: str, workspaces: dict[str, Any]) -> tuple[str, dict] | None:
    """Find the configured workspace a provider's connection names (key, id or name)."""
    wanted = connection.strip().casefold()
    for key, entry in workspaces.items():
        names = (key, entry.get("WorkspaceId"), entry.get("WorkspaceName"))
        if any(str(name).strip().casefold() == wanted for name in names if name):
            return key, entry
    return None


def result_workspace(result: Any) -> dict[str, str]:
    """
    Return the Microsoft Sentinel workspace a notebooklet result was hunted in.

    Parameters
    ----------
    result : AnomalousLogonUsersResult
        The notebooklet's result. Its notebooklet's query provider must be a
        Microsoft Sentinel / Log Analytics one that ran the hunt's query.

    Returns
    -------
    dict
        ``name`` (the workspace's key in msticpyconfig.yaml),
        ``subscription_id``, ``resource_group``, ``workspace_name`` and
        ``tenant_id`` ("" when not configured).

    Raises
    ------
    WorkspaceNeededError
        If the hunt ran on anything but a Sentinel workspace (local files,
        the demo, a DataFrame, a bare `Hunt`).
    SentinelError
        If the workspace has no entry in msticpyconfig.yaml with
        SubscriptionId, ResourceGroup and WorkspaceName.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> result_workspace(SimpleNamespace(query=None))  # a bare hunt  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    msticnb_iforest.frontends.sentinel_workspace.WorkspaceNeededError: Sending incidents ...

    """
    provider = _query_provider(result)
    if provider is None:
        raise _needs_workspace("this hunt was not run by the notebooklet on a workspace")
    environment = str(getattr(provider, "environment", "") or "")
    if environment not in SENTINEL_ENVIRONMENTS:
        source = "local files (LocalData)" if environment == "LocalData" else environment
        raise _needs_workspace(f"this hunt read {source or 'an unknown source'}")
    if getattr(result, "query", None) is None:
        raise _needs_workspace("this hunt was given its data (data=...) instead of querying")
    connection = str(getattr(provider, "connection_string", "") or "")
    workspaces = _configured_workspaces()
    found = _find_entry(connection, workspaces) if connection else None
    if found is None:
        raise SentinelError(
            f"The hunt ran on workspace {connection or '(unnamed)'!r}, which has no entry under "
            "AzureSentinel: Workspaces in msticpyconfig.yaml (it lists "
            f"{', '.join(sorted(workspaces)) or 'none'}). Add one with SubscriptionId, "
            "ResourceGroup and WorkspaceName, or pass sentinel=, a connected MicrosoftSentinel."
        )
    key, entry = found
    missing = [name for name in WORKSPACE_KEYS if not str(entry.get(name) or "").strip()]
    if missing:
        raise SentinelError(
            f"Workspace {key!r} in msticpyconfig.yaml lacks {', '.join(missing)}: Microsoft "
            "Sentinel's API needs them to write bookmarks and incidents. Add them, or pass "
            "sentinel=, a connected MicrosoftSentinel."
        )
    return {
        "name": key,
        "subscription_id": str(entry["SubscriptionId"]).strip(),
        "resource_group": str(entry["ResourceGroup"]).strip(),
        "workspace_name": str(entry["WorkspaceName"]).strip(),
        "tenant_id": str(entry.get("TenantId") or "").strip(),
    }


def connect_workspace(result: Any, **connect_kwargs: Any) -> Any:
    """
    Connect msticpy's Microsoft Sentinel API client to the workspace a result was hunted in.

    Parameters
    ----------
    result : AnomalousLogonUsersResult
        The notebooklet's result (see `result_workspace`).
    **connect_kwargs
        Passed to ``MicrosoftSentinel.connect`` (``auth_methods``,
        ``tenant_id``, ``credential``, ``token``, ...); the workspace's
        configured TenantId is used when no ``tenant_id`` is given.

    Returns
    -------
    msticpy.context.azure.MicrosoftSentinel
        The connected client.

    Raises
    ------
    WorkspaceNeededError, SentinelError
        As `result_workspace`; SentinelError also when connecting fails.

    Examples
    --------
    >>> sentinel = connect_workspace(result)  # doctest: +SKIP
    >>> sentinel.url  # doctest: +SKIP
    'https://management.azure.com/subscriptions/.../workspaces/soc-ws'

    """
    workspace = result_workspace(result)
    from msticpy.context.azure import MicrosoftSentinel

    if workspace["tenant_id"]:
        connect_kwargs.setdefault("tenant_id", workspace["tenant_id"])
    try:
        sentinel = MicrosoftSentinel(
            subscription_id=workspace["subscription_id"],
            resource_group=workspace["resource_group"],
            workspace_name=workspace["workspace_name"],
        )
        sentinel.connect(**connect_kwargs)
    except Exception as err:  # msticpy and Azure raise many types; report them as one
        detail = " ".join(str(err).split()) or type(err).__name__
        raise SentinelError(
            f"Could not connect to Microsoft Sentinel workspace {workspace['name']!r}: "
            f"{type(err).__name__}: {detail}"
        ) from None
    return sentinel


class _NeedsWorkspace(argparse.Action):
    """``--to-sentinel`` on the command line: always a usage error (exit status 2)."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        text = NEEDS_WORKSPACE.format(why="the command line hunts local files or the demo")
        parser.error(f"{option_string}: {text}")


def add_to_sentinel_flag(parser: argparse.ArgumentParser) -> None:
    """
    Add ``--to-sentinel`` to a command: it stops with the "needs a workspace" message.

    The command line hunts files and the demo, never a workspace, so it has
    nowhere to send incidents; the flag exists to say so and what to do.

    Examples
    --------
    >>> parser = argparse.ArgumentParser(exit_on_error=False)
    >>> add_to_sentinel_flag(parser)
    >>> "--to-sentinel" in parser.format_help()
    True

    """
    parser.add_argument(
        "--to-sentinel",
        nargs=0,
        action=_NeedsWorkspace,
        help="not available here: sending incidents to Microsoft Sentinel needs a hunt of a "
        "Sentinel workspace (use the notebook's result.to_sentinel)",
    )
