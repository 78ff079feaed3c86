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

  onTestRunEnd(modules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<{ message?: string }>) {
    if (this.lines.length === 0 && modules.length === 0) return;
    // Errors outside a test (beforeAll/afterAll, import) skip or hide cases: they count as failures here.
    const outside: string[] = [];
    for (const module of modules) {
      const file = module.relativeModuleId;
      for (const error of module.errors())
        outside.push(`[e2e] FAIL ${file} (outside a test) — ${(error.message ?? String(error)).split('\n')[0]}`);
      for (const suite of module.children.allSuites()) {
        for (const error of suite.errors())
          outside.push(
            `[e2e] FAIL ${file} › ${suite.fullName} (hook) — ${(error.message ?? String(error)).split('\n')[0]}`,
          );
      }
    }
    for (const error of unhandledErrors)
      outside.push(`[e2e] FAIL unhandled error — ${(error.message ?? String(error)).split('\n')[0]}`);
    const all = [...this.lines, ...outside];
    const passed = all.filter((l) => l.startsWith('[e2e] PASS')).length;
    const failed = all.filter((l) => l.startsWith('[e2e] FAIL')).length;
    const other = all.length - passed - failed;
    process.stdout.write(
      `\n===== e2e summary: ${passed} passed, ${failed} failed${other ? `, ${other} not run` : ''} =====\n${all.join('\n')}\n\n`,
    );
  }
}
