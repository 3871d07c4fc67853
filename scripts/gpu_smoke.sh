#!/usr/bin/env bash
# GPU smoke check of the vLLM serving kit. Not run in CI; no test needs it.
#
# On a machine with an NVIDIA GPU, vLLM (pip install 'lingshu-agent[serve]') and the
# Lingshu weights on local disk, it starts `vllm serve` with the command that
# `lingshu vllm-command` prints, measures time to first token and tokens/s on one
# streamed image question, checks that native (hermes) tool calls come back, then runs
# the agent on the chest-pain case in both tool-calling modes (prompted, native): the
# first-run set-up (corpus embedding) is timed apart from the turns, and the first turn
# of a process apart from warm turns. Prints one JSON line per stage.
#
#   scripts/gpu_smoke.sh /models/Lingshu-7B            # 7B on 1 GPU
#   scripts/gpu_smoke.sh /models/Lingshu-32B 32b 2     # 32B, tensor parallel over 2 GPUs
#
# Environment: PORT (default 8001), PYTHON (default python), STARTUP_TIMEOUT_S (default 900).
set -euo pipefail

WEIGHTS=${1:?usage: scripts/gpu_smoke.sh /path/to/Lingshu-7B [7b|32b] [gpus]}
SIZE=${2:-7b}
GPUS=${3:-1}
PORT=${PORT:-8001}
PYTHON=${PYTHON:-python}
STARTUP_TIMEOUT_S=${STARTUP_TIMEOUT_S:-900}

command -v nvidia-smi >/dev/null || { echo "no NVIDIA GPU here (nvidia-smi not found)" >&2; exit 1; }
command -v vllm >/dev/null || { echo "vllm is not installed: pip install 'lingshu-agent[serve]'" >&2; exit 1; }
[[ -f "$WEIGHTS/config.json" ]] || { echo "no weights at $WEIGHTS (expected config.json)" >&2; exit 1; }

LOG=$(mktemp -t lingshu-vllm.XXXXXX.log)
CMD=$(lingshu vllm-command --model "$SIZE" --gpus "$GPUS" --weights "$WEIGHTS" --port "$PORT")
echo "+ $CMD"
eval "set -- $CMD"
"$@" >"$LOG" 2>&1 &
VLLM_PID=$!
cleanup() { kill "$VLLM_PID" 2>/dev/null || true; wait "$VLLM_PID" 2>/dev/null || true; }
trap cleanup EXIT

started=$(date +%s)
until curl -sf "http://127.0.0.1:$PORT/health" >/dev/null; do
  if ! kill -0 "$VLLM_PID" 2>/dev/null; then echo "vllm exited; last log lines:" >&2; tail -40 "$LOG" >&2; exit 1; fi
  if (( $(date +%s) - started > STARTUP_TIMEOUT_S )); then echo "vllm not up after ${STARTUP_TIMEOUT_S}s; log: $LOG" >&2; exit 1; fi
  sleep 5
done
echo "vllm up after $(( $(date +%s) - started ))s (log: $LOG)"

export LINGSHU_BASE_URL="http://127.0.0.1:$PORT/v1"
export LINGSHU_MODEL="lingshu-medical-mllm/Lingshu-${SIZE^^}"

"$PYTHON" - <<'PY'
import base64, io, json, os, time
from openai import OpenAI
from PIL import Image, ImageDraw

client = OpenAI(base_url=os.environ["LINGSHU_BASE_URL"], api_key="EMPTY")
model = os.environ["LINGSHU_MODEL"]
image = Image.new("L", (512, 512), 20)
ImageDraw.Draw(image).ellipse((300, 180, 380, 260), fill=200)  # a bright round opacity
buffer = io.BytesIO(); image.convert("RGB").save(buffer, format="PNG")
url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
messages = [{"role": "user", "content": [
    {"type": "image_url", "image_url": {"url": url}},
    {"type": "text", "text": "Describe this chest image in three sentences."}]}]

start = time.perf_counter(); first = None; usage = None
stream = client.chat.completions.create(model=model, messages=messages, max_tokens=256,
    temperature=0, stream=True, stream_options={"include_usage": True})
for chunk in stream:
    if chunk.choices and chunk.choices[0].delta.content and first is None:
        first = time.perf_counter()
    if chunk.usage:
        usage = chunk.usage
end = time.perf_counter()
tokens = usage.completion_tokens if usage else 0
decode_s = max(end - (first or end), 1e-9)
tools = [{"type": "function", "function": {"name": "search_guidelines",
    "description": "Search clinical guidelines.", "parameters": {"type": "object",
    "properties": {"query": {"type": "string"}}, "required": ["query"]}}}]
reply = client.chat.completions.create(model=model, temperature=0, max_tokens=128, tools=tools,
    tool_choice="auto", messages=[{"role": "user", "content":
    "Use the search_guidelines tool to find the CURB-65 criteria."}])
calls = reply.choices[0].message.tool_calls or []
print(json.dumps({
    "model": model,
    "ttft_s": round((first or end) - start, 3),
    "completion_tokens": tokens,
    "tokens_per_s": round(tokens / decode_s, 1),
    "prompt_tokens": usage.prompt_tokens if usage else None,
    "native_tool_calls": [c.function.name for c in calls],
}))
PY

# The agent end to end, in both tool-calling modes. The first-run set-up (the starter
# corpus embedded, the synthetic patients loaded) is timed on its own, then per mode the
# first turn of a process (which loads the embedding model) apart from warm turns.
"$PYTHON" - <<'PY'
import json, os, statistics, tempfile, time
from pathlib import Path

from agent.cli.demo import CASES, prepare_demo_stores
from agent.session import Lingshu
from agent.settings import Settings

data = Path(os.environ.get("LINGSHU_DATA_DIR") or tempfile.mkdtemp(prefix="lingshu-smoke-"))
case = CASES["chest-pain"]
started = time.perf_counter()
prepare_demo_stores(Settings(data_dir=data), quiet=True)
print(json.dumps({"stage": "first-run set-up (stores)", "s": round(time.perf_counter() - started, 1)}))
follow_ups = ["What single test would change management most, and why?",
              "Summarise the plan in two lines."]
for mode in ("prompted", "native"):
    agent = Lingshu(Settings(data_dir=data, tool_calling=mode))
    timings, answers = [], []
    session = None
    for question in [case.question, *follow_ups, case.question]:
        t0 = time.perf_counter()
        result = agent.ask(question, session_id=session if question != case.question else None,
                           patient_id=case.patient if question == case.question else None)
        timings.append(time.perf_counter() - t0)
        session = result.session_id
        answers.append(result.answer)
    tools = [a for a in agent.state(session)["audit"] if a.get("tool") not in ("red_flag_screen", "model")]
    warm = timings[1:]
    print(json.dumps({
        "stage": f"agent turns, tool calling {mode}",
        "first_turn_s": round(timings[0], 2),
        "warm_turns_s": [round(t, 2) for t in warm],
        "warm_turn_median_s": round(statistics.median(warm), 2),
        "produced_by": [a.get("produced_by") for a in answers],
        "model_errors": [a.get("model_error") for a in answers if a.get("model_error")],
        "tool_calls_last_session": [a.get("tool") for a in tools],
        "warnings": sorted({w for a in answers for w in a.get("warnings", [])})[:8],
    }))
PY

# A small `lingshu eval` when benchmark data is present (EVALUATION.md, README "Evaluation"):
# LINGSHU_EVAL_DATA (default ~/medeval) holds one folder per benchmark; 20 items of each
# one found, both arms, against the server started above.
EVAL_DATA=${LINGSHU_EVAL_DATA:-$HOME/medeval}
found=()
for bench in VQA_RAD SLAKE PATH_VQA PMC_VQA MedQA_USMLE IU_XRAY DDXPlus; do
  [[ -d "$EVAL_DATA/$bench" ]] && found+=("$bench")
done
if (( ${#found[@]} )); then
  EVAL_OUT=$(mktemp -d -t lingshu-eval.XXXXXX)
  lingshu eval "${found[@]}" --data "$EVAL_DATA" --out "$EVAL_OUT" --limit 20 --concurrency 32 --no-meteor
  echo "lingshu eval: $EVAL_OUT/summary.json and $EVAL_OUT/index.html"
else
  echo "no benchmark folders under $EVAL_DATA (set LINGSHU_EVAL_DATA); lingshu eval skipped"
fi
