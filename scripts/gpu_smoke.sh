#!/usr/bin/env bash
# GPU smoke check of the vLLM serving kit. Not run in CI; no test needs it.
#
# On a machine with an NVIDIA GPU, vLLM (pip install 'lingshu-agent[serve]') and the
# Lingshu weights on local disk, it starts `vllm serve` with the command that
# `lingshu vllm-command` prints, measures time to first token and tokens/s on one
# streamed image question, checks that native (hermes) tool calls come back, runs
# `lingshu demo` against the server and prints the turn's wall time.
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

turn_start=$(date +%s.%N)
lingshu demo
turn_end=$(date +%s.%N)
"$PYTHON" -c "print('lingshu demo turn wall time: %.1f s' % ($turn_end - $turn_start))"
