"""The ``InvokeCommand`` protocol, shared by the Exchange Online and Security & Compliance fakes.

Both admin APIs speak the same protocol (docs/wire/invoke-command.md §2 for Exchange; §3.3 says Security &
Compliance is "the same InvokeCommand protocol on a regional host"), so the request envelope, the OData response
envelope, the error envelopes, paging and PowerShell-style parameter conversion live here once. Section references
point into ``docs/wire/invoke-command.md``. Everything the pages mark as inference, or say nothing about, is tagged
``[inference]``. Written from docs/wire only; imports nothing of the clients, handlers or core.

Wire summary (docs/wire/invoke-command.md §2-§6):

- ``POST /adminapi/beta/{tenant}/InvokeCommand`` with ``{"CmdletInput":{"CmdletName":..,"Parameters":{..}}}``.
  Routing is on the body's CmdletName, case-insensitively; ``X-CmdletName`` is accepted, not required.
- Success: ``{"@odata.context":..,"adminapi.warnings@odata.type":"#Collection(String)",
  "@adminapi.warnings":[..],"value":[..]}`` (+ ``@odata.nextLink`` when paged).
- Missing object: 404 ``NotFound`` with ``details[0].message`` =
  ``<code>|...ManagementObjectNotFoundException|<text>``; bad/unknown parameter: 400 ``BadRequest``.
- Unknown cmdlet: 403, whose body differs per service (each fake raises its own exception for it).

Modules: ``responses`` (the endpoint: envelope, cmdlet table, paging), ``params`` (PowerShell parameter conversion),
``exceptions`` (the typed service errors and their envelopes), ``wire`` (OData annotations, ``$select``, dates) and
``lag`` (replication lag after a New-).
"""
