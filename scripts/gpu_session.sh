#!/usr/bin/env bash
# One lent GPU session, prepared (docs/training.md, "The GPU session"). Run from the repository root, in two calls:
#
#   bash scripts/gpu_session.sh check          # ~1.5 min: CUDA-graph test, then ms/step of the four step variants
#   bash scripts/gpu_session.sh train [ARGS]   # the recipe; ARGS go to train.py (e.g. --minutes-sp 5.5)
#
# `train` reads its images from $DATA (default .carry/cifar10: a git-ignored copy of ../shared/datasets/cifar10, with
# train.zip and test.zip, named in the device call's carry; any source scripts/train.py takes will do, with --size in
# ARGS for 64 or 128 px). Everything lands in $OUT (default runs/gpu-session), at most 8 files per call, the device's
# limit: checks.txt from `check`; config.json, vgg.npz, sp.npz, lag.npz, provenance.json, train_log.jsonl and the
# two sample grids from `train`. Export (scripts/export.py --run) and evaluation need no GPU: run them afterwards.
# If the CUDA-graph test fails, `train` runs the steps eagerly (--cuda-graph off) and says so.
# SMOKE=1 runs the same commands on the CPU with the tiny configuration, to test this script.
set -u -o pipefail
phase=${1:?usage: gpu_session.sh check|train [train.py args]}
shift
out=${OUT:-runs/gpu-session}
mkdir -p "$out"
py=${PYTHON:-python3}

if [ "${SMOKE:-0}" = 1 ]; then
  profile_args=(--device cpu --config tiny --steps 2 --batch-time 4 --variants eager)
  train_args=(--config tiny --device cpu --train-limit 200 --steps-cls 4 --steps-sp 4 --steps-lag 4 --batch-cls 16
              --batch-sp 8 --batch-lag 8 --standing-batches 1 --log-every 2 --threads 2 --data-cache none
              --data "${DATA:?SMOKE=1 needs DATA, an image source}")
else
  profile_args=(--steps 40)
  train_args=(--data "${DATA:-.carry/cifar10}" --log-every 500)
fi

case "$phase" in
  check)
    {
      echo "== $(date -u +%FT%TZ) $("$py" -c 'import torch; print("torch", torch.__version__, torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no CUDA")')"
      echo "== tests/python/test_cuda_graph.py"
      "$py" -m pytest -q -p no:cacheprovider tests/python/test_cuda_graph.py 2>&1 | tail -n 40
      echo "exit ${PIPESTATUS[0]}"
      echo "== scripts/profile_train_step.py ${profile_args[*]}"
      "$py" scripts/profile_train_step.py "${profile_args[@]}" 2>&1 | tail -n 60
      echo "exit ${PIPESTATUS[0]}"
    } > "$out/checks.txt"
    cat "$out/checks.txt"
    ;;
  train)
    graph=auto
    if ! "$py" -m pytest -q -p no:cacheprovider tests/python/test_cuda_graph.py -k "replays_equal and bf16" > /tmp/graph-test.txt 2>&1; then
      graph=off
      echo "CUDA-graph test failed: training eagerly (--cuda-graph off)"
      tail -n 20 /tmp/graph-test.txt
    fi
    commit=${GIT_COMMIT:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}
    "$py" scripts/train.py "${train_args[@]}" --out "$out" --ckpt-dir /tmp/gpu-session-ckpt \
      --git-commit "$commit" --cuda-graph "$graph" "$@"
    ;;
  *)
    echo "unknown phase: $phase (check or train)" >&2
    exit 2
    ;;
esac
