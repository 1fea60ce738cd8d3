import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { render } from 'ink-testing-library';
import { describe, expect, it } from 'vitest';
import { buildChecklist, watchFiles } from '../../src/services/checklist.js';
import { Settings } from '../../src/services/settings.js';
import { ChecklistView, LiveChecklist } from '../../src/wizard/ChecklistView.js';
import { tempDir } from '../helpers/cli.js';

describe('the live checklist', () => {
  it('re-renders when the metrics file changes, and survives a malformed write', async () => {
    const file = path.join(tempDir(), 'metrics.json');
    writeFileSync(file, JSON.stringify({ 'phase3.success_rate': 0.5 }));
    const settings = new Settings(tempDir());
    const load = () => buildChecklist({ metricsFiles: [file] }, settings);
    let subscribed = false;
    const subscribe = (onChange: () => void) => {
      subscribed = true;
      return watchFiles([file], onChange, 20);
    };
    const { lastFrame, unmount } = render(
      <LiveChecklist load={load} subscribe={subscribe} onExit={() => {}} />,
    );
    expect(lastFrame()).toMatch(/✘ Success rate\s+50%/);
    await expect.poll(() => subscribed).toBe(true);

    writeFileSync(file, JSON.stringify({ 'phase3.success_rate': 0.95, 'phase3.inference_ms': 50 }));
    await expect.poll(() => lastFrame(), { timeout: 5000 }).toMatch(/✔ Success rate\s+95%/);
    expect(lastFrame()).toMatch(/✔ Inference time per step\s+50 ms/);

    writeFileSync(file, '{"phase3.success_rate": ');
    await expect.poll(() => lastFrame(), { timeout: 5000 }).toContain('is not valid JSON');
    expect(lastFrame()).toMatch(/✔ Success rate\s+95%/);
    unmount();
  });
});

describe('the checklist view', () => {
  it('cuts a long value with an ellipsis, so it never runs into the threshold', async () => {
    const dir = tempDir();
    const checkpoint = path.join(dir, 'a/long/project/folder/runs/phase1/robust');
    mkdirSync(checkpoint, { recursive: true });
    const file = path.join(dir, 'metrics.json');
    writeFileSync(file, JSON.stringify({ 'phase1.checkpoint': checkpoint, 'phase1.robust_mse': 0.0098 }));
    const report = buildChecklist({ metricsFiles: [file] }, new Settings(tempDir()));
    const { lastFrame, unmount } = render(<ChecklistView report={report} />);
    const line = lastFrame()!
      .split('\n')
      .find((row) => row.includes('Checkpoint saved'))!;
    expect(line, line).toMatch(/Checkpoint saved\s+…hase1\/robust file exists$/);
    unmount();
  });
});
