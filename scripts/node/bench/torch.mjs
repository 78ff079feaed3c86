// The PyTorch side: the same computations with the same weights on the CPU (scripts/bench_torch.py), or figures
// from an earlier run (--torch-json=FILE).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { PYTHON, TORCH_THREADS, args, log, packDir, quick, repo } from './options.mjs';

export function runTorch() {
  if (args.has('torch-json')) return JSON.parse(readFileSync(resolve(String(args.get('torch-json'))), 'utf8'));
  if (args.has('no-torch')) return null;
  if (!existsSync(PYTHON)) {
    log(`${PYTHON} not found: no PyTorch figures`);
    return null;
  }
  log(`PyTorch (${PYTHON} scripts/bench_torch.py, threads ${TORCH_THREADS} and 1) ...`);
  const result = spawnSync(
    PYTHON,
    [
      'scripts/bench_torch.py',
      '--pack-dir',
      packDir,
      '--threads',
      String(TORCH_THREADS),
      '1',
      '--budget-s',
      quick ? '0.5' : '3',
    ],
    { cwd: repo, encoding: 'utf8', maxBuffer: 64 << 20 },
  );
  if (result.status !== 0) {
    log(`bench_torch.py failed (${result.status}): ${result.stderr.slice(-2000)}`);
    return null;
  }
  return JSON.parse(result.stdout);
}
