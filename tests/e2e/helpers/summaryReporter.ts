// One summary line per e2e case (PASS/FAIL, duration, what it measured via context.annotate, or the first line of
// the failure), printed as each case ends and again as a block at the end of the run.
import type { Reporter, TestCase, TestModule } from 'vitest/node';

function line(testCase: TestCase): string {
  const result = testCase.result();
  const state = result.state === 'passed' ? 'PASS' : result.state === 'failed' ? 'FAIL' : result.state.toUpperCase();
  const seconds = ((testCase.diagnostic()?.duration ?? 0) / 1000).toFixed(1);
  const notes = testCase
    .annotations()
    .map((a) => a.message)
    .join('; ');
  const file = testCase.module.relativeModuleId.replace(/^tests\/e2e\//, '').replace(/\.e2e\.test\.ts$/, '');
  let text = `[e2e] ${state} ${file} › ${testCase.fullName} (${seconds} s)`;
  if (notes) text += ` — ${notes}`;
  if (result.state === 'failed') {
    const message = (result.errors?.[0]?.message ?? 'failed').split('\n')[0];
    text += ` — ${message.length > 400 ? `${message.slice(0, 400)}…` : message}`;
  }
  return text;
}

export default class SummaryReporter implements Reporter {
  private lines: string[] = [];

  onTestCaseResult(testCase: TestCase) {
    const text = line(testCase);
    this.lines.push(text);
    process.stdout.write(`${text}\n`);
  }

  onTestRunEnd(modules: ReadonlyArray<TestModule>) {
    if (this.lines.length === 0 && modules.length === 0) return;
    const passed = this.lines.filter((l) => l.startsWith('[e2e] PASS')).length;
    const failed = this.lines.filter((l) => l.startsWith('[e2e] FAIL')).length;
    process.stdout.write(`\n===== e2e summary: ${passed} passed, ${failed} failed, ${this.lines.length} cases =====\n${this.lines.join('\n')}\n\n`);
  }
}
