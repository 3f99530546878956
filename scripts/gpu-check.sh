#!/usr/bin/env bash
# Checks Carbon Meter's GPU energy against NVML's own total-energy counter on a machine with an NVIDIA GPU.
#
#   bash scripts/gpu-check.sh            (from the repository root, after `npm run build`; no network needed)
#   NODE=/path/to/node SECONDS_BURN=40 LOG=gpu-check.log bash scripts/gpu-check.sh
#
# Steps, each with a timeout: driver summary (nvidia-smi), Node check, a CUDA burner built with nvcc, a bracket tool
# (C against libnvidia-ml.so.1 through dlopen) that reads every GPU's energy counter just before and just after the
# burner, `carbon-meter run --json` metering bracket+burner, the ratio of the two energies (goal: within 3 %), two
# metered burners sharing GPU 0 (their shares should add up to the counter), a PyTorch training loop,
# `carbon-meter doctor`, and the reader's cost per NVML reading on this driver. Everything goes to $LOG.
set -u -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 2
LOG=${LOG:-$ROOT/gpu-check.log}
NODE=${NODE:-node}
SECONDS_BURN=${SECONDS_BURN:-40}
HALF=$((SECONDS_BURN / 2))
WORK=$(mktemp -d "${TMPDIR:-/tmp}/cm-gpu-check.XXXXXX")
exec > >(tee -a "$LOG") 2>&1
PS4='+ [$(date -u +%H:%M:%S)] '
echo "== Carbon Meter GPU check, $(date -u +%FT%TZ), host $(hostname), work dir $WORK, log $LOG"
FAILED=0
note() { echo "== $*"; }
fail() { echo "!! $*"; FAILED=1; }

set -x
# 1. The driver, as nvidia-smi sees it
timeout 30 nvidia-smi || fail "nvidia-smi failed or is missing"
timeout 30 nvidia-smi --query-gpu=index,uuid,name,driver_version,power.draw,power.limit,utilization.gpu,memory.used --format=csv || true
timeout 30 nvidia-smi -q -d POWER,PERFORMANCE,CLOCK | head -120 || true
timeout 10 nvidia-smi --help-query-gpu | grep -i -A2 'power.draw' | head -20 || true
ls -la /usr/lib/x86_64-linux-gnu/libnvidia-ml.so* /usr/lib64/libnvidia-ml.so* 2>/dev/null || true
ldconfig -p 2>/dev/null | grep -i nvidia-ml || true

# 2. Node (the CLI needs Node >= 20); the lead may ship one: NODE=/path/to/node
if ! command -v "$NODE" >/dev/null 2>&1; then
  set +x
  echo "!! NODE NOT FOUND: '$NODE' is not on PATH. Install Node >= 20 or run NODE=/path/to/node bash scripts/gpu-check.sh"
  echo "!! (candidates: node_modules/.bin/node, .vscode-test/code-server/node_modules/node, .vscode-test/*/node)"
  for c in node_modules/.bin/node .vscode-test/code-server/node_modules/node .vscode-test/*/node; do [ -x "$c" ] && echo "   found: $c"; done
  exit 3
fi
"$NODE" --version
[ -f dist/cli.js ] && [ -f dist/nvmlReader.js ] || { set +x; echo "!! dist/cli.js or dist/nvmlReader.js missing: run 'npm run build' first"; exit 4; }
ls -la dist/node_modules/koffi dist/node_modules/@koromix 2>/dev/null | head -20 || fail "koffi is not in dist/node_modules (npm run build copies it)"

# 3. The burner and the bracket
NVCC=${NVCC:-}
if [ -z "$NVCC" ]; then
  if command -v nvcc >/dev/null 2>&1; then NVCC=$(command -v nvcc); else NVCC=/usr/local/cuda/bin/nvcc; fi
fi
cat > "$WORK/burner.cu" <<'EOF'
// Keeps GPU 0 busy with FMAs for argv[1] seconds.
#include <chrono>
#include <cstdio>
#include <cstdlib>
__global__ void burn(float *x, int iters) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  float a = x[i] + 1.0f, b = 1.0001f, c = 0.9999f;
  for (int k = 0; k < iters; k++) { a = fmaf(a, b, c); b = fmaf(b, c, a); c = fmaf(c, a, b); }
  x[i] = a + b + c;
}
int main(int argc, char **argv) {
  double secs = argc > 1 ? atof(argv[1]) : 40.0;
  const int n = 1 << 24;
  float *x = nullptr;
  if (cudaMalloc(&x, n * sizeof(float)) != cudaSuccess) { fprintf(stderr, "cudaMalloc failed\n"); return 1; }
  cudaMemset(x, 0, n * sizeof(float));
  auto t0 = std::chrono::steady_clock::now();
  int launches = 0;
  double el = 0;
  while (el < secs) {
    burn<<<n / 256, 256>>>(x, 400);
    cudaDeviceSynchronize();
    launches++;
    el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  cudaError_t e = cudaGetLastError();
  fprintf(stderr, "burner: %d launches in %.2f s: %s\n", launches, el, cudaGetErrorString(e));
  cudaFree(x);
  return e == cudaSuccess ? 0 : 1;
}
EOF
cat > "$WORK/bracket.c" <<'EOF'
/* Reads every GPU's NVML energy counter, runs a command, reads them again; writes "index uuid e0_mJ e1_mJ seconds". */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
typedef int (*f0)(void);
typedef int (*fcount)(unsigned int *);
typedef int (*fhandle)(unsigned int, void **);
typedef int (*fenergy)(void *, unsigned long long *);
typedef int (*fuuid)(void *, char *, unsigned int);
int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: bracket OUT CMD...\n"); return 2; }
  void *lib = dlopen("libnvidia-ml.so.1", RTLD_NOW);
  if (!lib) { fprintf(stderr, "dlopen: %s\n", dlerror()); return 2; }
  f0 init = (f0)dlsym(lib, "nvmlInit_v2");
  fcount count = (fcount)dlsym(lib, "nvmlDeviceGetCount_v2");
  fhandle handle = (fhandle)dlsym(lib, "nvmlDeviceGetHandleByIndex_v2");
  fenergy energy = (fenergy)dlsym(lib, "nvmlDeviceGetTotalEnergyConsumption");
  fuuid uuidf = (fuuid)dlsym(lib, "nvmlDeviceGetUUID");
  if (!init || !count || !handle || !energy || init() != 0) { fprintf(stderr, "nvml init failed\n"); return 2; }
  unsigned int n = 0;
  count(&n);
  if (n > 64) n = 64;
  void *h[64];
  unsigned long long e0[64], e1[64];
  char uuid[64][96];
  for (unsigned i = 0; i < n; i++) {
    handle(i, &h[i]);
    uuid[i][0] = 0;
    if (uuidf) uuidf(h[i], uuid[i], 96);
  }
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (unsigned i = 0; i < n; i++) if (energy(h[i], &e0[i]) != 0) e0[i] = 0;
  pid_t pid = fork();
  if (pid == 0) { execvp(argv[2], argv + 2); perror("execvp"); _exit(127); }
  int st = 0;
  waitpid(pid, &st, 0);
  for (unsigned i = 0; i < n; i++) if (energy(h[i], &e1[i]) != 0) e1[i] = 0;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  FILE *f = fopen(argv[1], "w");
  double s = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
  for (unsigned i = 0; i < n; i++) fprintf(f, "%u %s %llu %llu %.3f\n", i, uuid[i], e0[i], e1[i], s);
  fclose(f);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}
EOF
timeout 120 "$NVCC" -O2 -arch=sm_90 -o "$WORK/burner" "$WORK/burner.cu" || timeout 120 "$NVCC" -O2 -o "$WORK/burner" "$WORK/burner.cu" || fail "nvcc could not build the burner"
timeout 60 gcc -O2 -o "$WORK/bracket" "$WORK/bracket.c" -ldl || fail "gcc could not build the bracket tool"

# 4. Meter the burner; the bracket reads the counter independently around it
if [ -x "$WORK/burner" ] && [ -x "$WORK/bracket" ]; then
  export CARBON_METER_HOME="$WORK/home"
  timeout $((SECONDS_BURN + 90)) "$NODE" dist/cli.js run --json --interval 1 --region FR -- "$WORK/bracket" "$WORK/bracket.txt" "$WORK/burner" "$SECONDS_BURN" > "$WORK/run.json"
  echo "run exit code: $?"
  cat "$WORK/bracket.txt" || fail "no bracket reading"
  cat "$WORK/run.json"
  "$NODE" -e '
    const fs = require("fs");
    const run = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
    const rows = fs.readFileSync(process.argv[2], "utf8").trim().split("\n").map((l) => l.split(" "));
    const meterJ = run.energyKWh.gpu * 3.6e6;
    const dev0 = rows[0];
    const refJ = (Number(dev0[3]) - Number(dev0[2])) / 1000;
    const allJ = rows.reduce((s, r) => s + (Number(r[3]) - Number(r[2])) / 1000, 0);
    console.log("GPU power record:", JSON.stringify(run.power.gpu, null, 1));
    console.log("hardware.gpus:", JSON.stringify(run.hardware.gpus));
    console.log(`RESULT meter ${meterJ.toFixed(1)} J, NVML counter around the burner (GPU 0) ${refJ.toFixed(1)} J (all GPUs ${allJ.toFixed(1)} J) over ${dev0[4]} s`);
    console.log(`RESULT ratio meter/counter = ${(meterJ / refJ).toFixed(4)} (goal within 3 %: ${Math.abs(meterJ / refJ - 1) <= 0.03 ? "PASS" : "FAIL"})`);
  ' "$WORK/run.json" "$WORK/bracket.txt" || fail "could not compare"
fi

# 4b. A shared GPU: two metered commands on GPU 0 at once (one burner each). The bracket reads the counter around
#     both; each run's GPU energy is its share, so the two shares together should come to the counter's energy.
if [ -x "$WORK/burner" ] && [ -x "$WORK/bracket" ]; then
  export CARBON_METER_HOME="$WORK/home-shared"
  cat > "$WORK/two.sh" <<EOF2
#!/bin/sh
"$NODE" "$ROOT/dist/cli.js" run --json-out "$WORK/a.json" --quiet --region FR -- "$WORK/burner" $HALF &
"$NODE" "$ROOT/dist/cli.js" run --json-out "$WORK/b.json" --quiet --region FR -- "$WORK/burner" $HALF &
wait
EOF2
  chmod +x "$WORK/two.sh"
  timeout $((HALF + 120)) "$WORK/bracket" "$WORK/bracket2.txt" "$WORK/two.sh"
  echo "shared exit code: $?"
  "$NODE" -e '
    const fs = require("fs");
    const [a, b] = [process.argv[1], process.argv[2]].map((f) => JSON.parse(fs.readFileSync(f, "utf8")));
    const row = fs.readFileSync(process.argv[3], "utf8").trim().split("\n")[0].split(" ");
    const refJ = (Number(row[3]) - Number(row[2])) / 1000;
    const ja = a.energyKWh.gpu * 3.6e6, jb = b.energyKWh.gpu * 3.6e6;
    for (const r of [a, b]) console.log("share rule:", r.power.gpu && r.power.gpu.shareRule, "|", r.power.gpu && r.power.gpu.detail);
    console.log(`RESULT shared GPU: run A ${ja.toFixed(1)} J + run B ${jb.toFixed(1)} J = ${(ja + jb).toFixed(1)} J; counter around both ${refJ.toFixed(1)} J over ${row[4]} s; ratio ${((ja + jb) / refJ).toFixed(4)} (goal within 5 %: ${Math.abs((ja + jb) / refJ - 1) <= 0.05 ? "PASS" : "FAIL"})`);
  ' "$WORK/a.json" "$WORK/b.json" "$WORK/bracket2.txt" || fail "could not compare the shared runs"
fi

# 4c. A real training loop (PyTorch, an MLP on random data), metered like a user would, against the counter
if python3 -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null && [ -x "$WORK/bracket" ]; then
  export CARBON_METER_HOME="$WORK/home-torch"
  cat > "$WORK/train.py" <<'EOF2'
import sys, time, torch
secs = float(sys.argv[1])
model = torch.nn.Sequential(torch.nn.Linear(4096, 4096), torch.nn.ReLU(), torch.nn.Linear(4096, 10)).cuda()
opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
x = torch.randn(8192, 4096, device="cuda"); y = torch.randint(0, 10, (8192,), device="cuda")
t0, steps = time.time(), 0
while time.time() - t0 < secs:
    loss = torch.nn.functional.cross_entropy(model(x), y)
    opt.zero_grad(); loss.backward(); opt.step(); steps += 1
    if steps % 200 == 0: print(f"step {steps} loss {loss.item():.4f}", flush=True)
torch.cuda.synchronize(); print(f"{steps} steps in {time.time() - t0:.1f} s")
EOF2
  timeout $((SECONDS_BURN + 120)) "$NODE" dist/cli.js run --json-out "$WORK/torch.json" --quiet --region FR -- "$WORK/bracket" "$WORK/bracket3.txt" python3 "$WORK/train.py" "$HALF"
  echo "torch exit code: $?"
  "$NODE" -e '
    const fs = require("fs");
    const run = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
    const row = fs.readFileSync(process.argv[2], "utf8").trim().split("\n")[0].split(" ");
    const refJ = (Number(row[3]) - Number(row[2])) / 1000, meterJ = run.energyKWh.gpu * 3.6e6;
    console.log("torch run:", JSON.stringify({ durationS: run.durationS, cpuSeconds: run.cpuSeconds, energyKWh: run.energyKWh, gpu: run.power.gpu }));
    console.log(`RESULT PyTorch training: meter ${meterJ.toFixed(1)} J, counter ${refJ.toFixed(1)} J over ${row[4]} s, ratio ${(meterJ / refJ).toFixed(4)} (goal within 3 %: ${Math.abs(meterJ / refJ - 1) <= 0.03 ? "PASS" : "FAIL"})`);
  ' "$WORK/torch.json" "$WORK/bracket3.txt" || fail "could not compare the PyTorch run"
else
  note "no PyTorch with CUDA here: step 4c skipped"
fi

# 4d. What metering costs here (the CLI and its NVML reader, per metered second)
NODE="$NODE" WINDOW_S=30 timeout 90 bash "$ROOT/scripts/gpu-meter-cost.sh" || fail "the metering cost could not be read"

# 5. What doctor says
timeout 60 "$NODE" dist/cli.js doctor || fail "doctor failed"
timeout 60 "$NODE" dist/cli.js doctor --json || true

# 6. The reader's cost per NVML reading on this driver: init, 100 full readings, 100 energy-only readings
{ echo '{"id":1,"op":"init"}'; for i in $(seq 2 101); do echo "{\"id\":$i,\"op\":\"read\",\"full\":true}"; done
  for i in $(seq 102 201); do echo "{\"id\":$i,\"op\":\"read\",\"full\":false}"; done; echo '{"id":999,"op":"quit"}'; } |
  timeout 60 "$NODE" dist/nvmlReader.js > "$WORK/reads.jsonl" || fail "the reader failed"
head -c 1500 "$WORK/reads.jsonl"; echo
"$NODE" -e '
  const lines = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => JSON.parse(l));
  const med = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[s.length >> 1].toFixed(1) : "?"; };
  for (const full of [true, false]) {
    const reads = lines.filter((a) => a.readUs !== undefined && a.ok && a.full === full).slice(10);
    const n = reads[0] ? reads[0].devices.length : 1;
    const k = (f) => med(reads.map((a) => (a.callsUs ? a.callsUs[f] : 0) / n));
    console.log(`RESULT reader ${full ? "full" : "energy-only"}: ${reads.length} readings of ${n} device(s), median per device ${med(reads.map((a) => a.readUs / n))} us (energy ${k("energy")}, power ${k("power")}, processes ${k("procs")}, utilisation ${k("util")})`);
  }
' "$WORK/reads.jsonl" || true
set +x
note "done; failed=$FAILED; log: $LOG"
exit $FAILED
