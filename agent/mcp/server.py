"""The MCP server: the agent's tools and a whole consultation, over stdio or streamable HTTP.

Served with the official ``mcp`` Python SDK (``MCPServer``):

- the evidence tools whose stores this deployment has (guideline search, the EHR tools,
  ICD-10-CM, the clinical calculators, the phenotype ranking), each taking the same
  arguments the model gives it plus ``patient_id`` where it reads a record; a result
  carries its references (``[E1] Observation ...``) so an assistant can cite it;
- ``consult``: one turn of the agent (``agent.session.Lingshu``) returning the cited
  answer and the session id to continue with;
- ``list_patients``: the patients the caller's key grants;
- resources ``lingshu://sessions/{id}/evidence`` and ``.../references``.

Access is the HTTP service's: the same keys and grants (``agent.mcp.access.Gate``), the
same session ownership and patient binding (``agent.server.service.Service``), the same
text and body limits; every record read is audited. The image tools are not served:
they act on a session's images, which an MCP client reaches through ``consult``.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Literal

import anyio
from fastapi import HTTPException
from langchain_core.messages import ToolCall
from langchain_core.tools import BaseTool
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from pydantic import Field
from starlette.types import ASGIApp, Receive, Scope, Send

from agent.acting import offered_tools, run_calls, tool_pool
from agent.mcp.access import AccessDenied, Gate, Transport
from agent.report import reference_line
from agent.server.auth import ApiKey
from agent.server.service import Service
from agent.session import InputError, SessionBusy, TurnResult, UnknownSession
from agent.settings import Settings
from tools import CODING_TOOLS, EHR_TOOLS, GUIDELINE_TOOLS, PHENOTYPE_TOOLS, SCORE_TOOLS
from tools.evidence import EvidenceLedger
from tools.runtime import RUNTIME_ARG, ToolContext

SERVED_TOOLS: tuple[BaseTool, ...] = (
    *GUIDELINE_TOOLS,
    *EHR_TOOLS,
    *CODING_TOOLS,
    *SCORE_TOOLS,
    *PHENOTYPE_TOOLS,
)
"""The evidence tools an MCP client may call (offered when their stores exist)."""
MAY_READ_RECORD = {"calculate", "phenotype_differential"}
"""Tools that read the patient's record when one is named, and work without one."""
INSTRUCTIONS = (
    "Lingshu clinical agent tools: guideline search, the patient's record (FHIR), ICD-10-CM, "
    "clinical calculators, and `consult` for a cited differential. Results cite their evidence "
    "([G1] guideline passage, [E1] record entry); keep the ids when you quote them. For "
    "demonstration and education, not clinical use."
)
PATIENT_HELP = (
    "The patient whose record to read; may be left out when the caller's key grants one patient."
)


class LingshuMcp:
    """One MCP server over one agent and its stores."""

    def __init__(
        self,
        settings: Settings,
        transport: Transport,
        *,
        service: Service | None = None,
        stdio_patients: Iterable[str] = (),
    ) -> None:
        self.settings = settings
        self.service = service if service is not None else Service.open(settings)
        self.gate = Gate(settings, transport, self.service.keys, stdio_patients)
        self.pool = tool_pool()
        self.server: MCPServer[Any] = MCPServer(
            "lingshu", instructions=INSTRUCTIONS, version=_version()
        )
        parts = self.service.agent.resources.available() | {"patient"}
        for tool in offered_tools(SERVED_TOOLS, parts):
            self._serve_tool(tool)
        self.server.add_tool(self.consult, name="consult")
        self.server.add_tool(self.list_patients, name="list_patients")
        self.server.resource(
            "lingshu://sessions/{session_id}/evidence", mime_type="application/json"
        )(self.evidence)
        self.server.resource("lingshu://sessions/{session_id}/references", mime_type="text/plain")(
            self.references
        )

    # --- who ----------------------------------------------------------------------------
    def _key(self, context: Context) -> ApiKey:
        try:
            return self.gate.caller(context.headers)
        except AccessDenied as exc:
            raise ToolError(str(exc)) from None

    # --- the evidence tools -------------------------------------------------------------
    def _serve_tool(self, tool: BaseTool) -> None:
        fields = {
            name: info
            for name, info in getattr(tool.get_input_schema(), "model_fields", {}).items()
            if name != RUNTIME_ARG
        }
        reads = "patient" in (tool.metadata or {}).get("requires", ())
        params = [
            inspect.Parameter(
                name,
                inspect.Parameter.KEYWORD_ONLY,
                annotation=Annotated[info.annotation, Field(description=info.description)],
                default=inspect.Parameter.empty if info.is_required() else info.default,
            )
            for name, info in fields.items()
        ]
        if reads or tool.name in MAY_READ_RECORD:
            params.append(
                inspect.Parameter(
                    "patient_id",
                    inspect.Parameter.KEYWORD_ONLY,
                    annotation=Annotated[str | None, Field(description=PATIENT_HELP)],
                    default=None,
                )
            )
        params.append(
            inspect.Parameter("mcp_context", inspect.Parameter.KEYWORD_ONLY, annotation=Context)
        )

        async def call(mcp_context: Context, **arguments: Any) -> str:
            key = self._key(mcp_context)
            asked = arguments.pop("patient_id", None)
            try:
                for name, value in arguments.items():
                    self.gate.check_text(name, value)
                patient = self.gate.patient(key, asked, required=reads)
            except (AccessDenied, ValueError) as exc:
                self.gate.audit(key, _refusal(tool.name, arguments, asked, str(exc)))
                raise ToolError(str(exc)) from None
            return await anyio.to_thread.run_sync(self._run, tool, key, patient, arguments)

        call.__signature__ = inspect.Signature(params, return_annotation=str)  # type: ignore[attr-defined]
        description = (tool.description or "").split("\n\nArgs:")[0].strip()
        self.server.add_tool(call, name=tool.name, description=description)

    def _run(self, tool: BaseTool, key: ApiKey, patient: str | None, args: dict[str, Any]) -> str:
        """Run one tool as the act node runs it (timeout, output limit), audit it, cite it."""
        resources = self.service.agent.resources
        if patient and resources.ehr is not None and resources.ehr.patient(patient) is None:
            self.gate.audit(key, _refusal(tool.name, args, patient, "no such patient"))
            raise ToolError(f"no patient {patient!r} in the EHR")
        ledger = EvidenceLedger()
        context = ToolContext(
            ledger=ledger,
            patient_id=patient,
            ehr=resources.ehr,
            guidelines=resources.guidelines,
            max_output_chars=self.settings.max_tool_output_chars,
            extras={"ehr_show_identifiers": self.settings.ehr_show_identifiers},
        )
        call = ToolCall(name=tool.name, args=args, id="mcp", type="tool_call")
        (outcome,) = run_calls(
            [call],
            {tool.name: tool},
            context,
            timeout_s=self.settings.tool_timeout_s,
            turn=0,
            pool=self.pool,
        )
        entry = {k: v for k, v in outcome.audit.items() if k not in ("time", "turn")}
        self.gate.audit(key, entry)
        if outcome.message.status == "error":
            raise ToolError(outcome.message.text)
        cited = [reference_line(r) for r in ledger.new_records.values()]
        text = outcome.message.text
        return text + ("\n\nReferences:\n" + "\n".join(cited) if cited else "")

    # --- a whole turn -------------------------------------------------------------------
    async def consult(
        self,
        question: Annotated[str, Field(description="The clinical question, as to a colleague.")],
        mcp_context: Context,
        patient_id: Annotated[
            str | None,
            Field(description="The patient of a new session (must match a continued one)."),
        ] = None,
        session_id: Annotated[
            str | None,
            Field(description="Continue this session (from an earlier consult); else a new one."),
        ] = None,
        mode: Annotated[
            Literal["clinical", "education", "report", "sequential"] | None,
            Field(description="clinical, education, report or sequential (ranked, costed)."),
        ] = None,
    ) -> str:
        """Ask the Lingshu agent one question and get its cited answer.

        The agent reads the patient's record and the guidelines, and answers with a
        differential diagnosis whose every citation ([G1], [E3]) resolves in the
        references at the end. Pass the returned session id to ask a follow-up. When the
        evidence is not enough, it may instead ask the clinician one question: the result
        says so, and the next consult on that session gives the answer.
        """
        key = self._key(mcp_context)
        service = self.service
        try:
            self.gate.check_text("question", question)
            if session_id is not None:
                self._authorize(key, session_id, patient_id)
            else:
                made = await service.call(service.create_session, key, patient_id, mode)
                session_id = str(made["session_id"])
            result = await service.call(
                service.agent.ask, question, session_id=session_id, mode=mode
            )
        except (HTTPException, InputError, UnknownSession, SessionBusy, ValueError) as exc:
            why = str(exc.detail) if isinstance(exc, HTTPException) else str(exc)
            asked = {"session_id": session_id, "mode": mode}
            self.gate.audit(key, _refusal("consult", asked, patient_id, why))
            raise ToolError(why) from None
        # the records the turn read are audited in the session (`lingshu audit SESSION`)
        bound = (await service.call(service.agent.state, session_id)).get("patient_id")
        entry = {"tool": "consult", "args": {"session_id": session_id, "mode": mode}}
        self.gate.audit(key, entry | {"status": "ok", "patient_id": bound, "resources": []})
        return _consult_text(session_id, result)

    async def list_patients(self, mcp_context: Context) -> str:
        """List the patients this caller may open: id, sex and birth year (no identifiers)."""
        key = self._key(mcp_context)
        return json.dumps(await self.service.call(self.service.patients, key))

    # --- resources ----------------------------------------------------------------------

    async def evidence(self, session_id: str, mcp_context: Context) -> str:
        """Every piece of evidence a session gathered, by id (JSON)."""
        return json.dumps(await self._session_evidence(session_id, mcp_context), default=str)

    async def references(self, session_id: str, mcp_context: Context) -> str:
        """A session's references list: each evidence id resolved to its source."""
        evidence = await self._session_evidence(session_id, mcp_context)
        return "\n".join(reference_line(r) for r in evidence.values())

    async def _session_evidence(self, session_id: str, context: Context) -> Mapping[str, Any]:
        key = self._resource_key(context)
        try:
            self._authorize(key, session_id)
            state = await self.service.call(self.service.agent.state, session_id)
        except HTTPException as exc:
            raise ResourceError(str(exc.detail)) from None
        except UnknownSession as exc:
            raise ResourceError(str(exc)) from None
        return dict(state.get("evidence") or {})

    def _authorize(self, key: ApiKey, session_id: str, patient_id: str | None = None) -> None:
        """The service's session check, and the key's grant on the session's own patient (a
        session another face made on the same store has no owner row to check it against)."""
        self.service.authorize(key, session_id, patient_id)
        bound = self.service.agent.state(session_id).get("patient_id")
        if bound is not None and not key.may_open(bound):
            raise HTTPException(403, f"this key ({key.name}) may not open patient {bound!r}")

    def _resource_key(self, context: Context) -> ApiKey:
        try:
            return self.gate.caller(context.headers)
        except AccessDenied as exc:
            raise ResourceError(str(exc)) from None

    # --- transports ---------------------------------------------------------------------
    def http_app(self, host: str = "127.0.0.1") -> ASGIApp:
        """The streamable HTTP app at ``/mcp``; a request without a known key gets 401."""
        app = self.server.streamable_http_app(
            max_request_body_size=self.settings.server_max_body_bytes, host=host
        )
        return _KeyRequired(app, self.gate)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.service.close()


class _KeyRequired:
    """Refuses an HTTP request whose key is missing or unknown before MCP reads it."""

    def __init__(self, app: ASGIApp, gate: Gate) -> None:
        self.app, self.gate = app, gate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            try:
                self.gate.caller(headers)
            except AccessDenied as exc:
                body = json.dumps({"error": str(exc)}).encode()
                await send(
                    {
                        "type": "http.response.start",
                        "status": 401,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"www-authenticate", b"Bearer"),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def _consult_text(session_id: str, result: TurnResult) -> str:
    """The consult tool's result: the session id, then the answer or the agent's question."""
    head = f"Session {session_id} (pass it as session_id to continue)"
    if result.question is not None:  # the turn waits on the clinician's answer
        return (
            f"{head}\n\nThe agent asks the clinician: {result.question['question']}\n"
            "(Answer it: call consult again with this session_id and the answer as the question.)"
        )
    return f"{head}\n\n{result.text}"


def _refusal(tool: str, args: Mapping[str, Any], patient: str | None, why: str) -> dict[str, Any]:
    return {
        "tool": tool,
        "args": {k: v for k, v in args.items() if not isinstance(v, str) or len(v) <= 200},
        "status": "refused",
        "patient_id": patient,
        "resources": [],
        "error": why,
    }


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("lingshu-agent")
    except PackageNotFoundError:
        return ""
