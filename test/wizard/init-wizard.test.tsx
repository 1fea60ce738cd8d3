import { describe, expect, it, vi } from 'vitest';
import { type CheckoutStatus, InitWizard, type InitAnswers } from '../../src/wizard/InitWizard.js';
import { press, renderReady } from '../helpers/ink.js';

describe('the init wizard', () => {
  it('asks the template, then the data for the local one', async () => {
    const onDone = vi.fn<(answers: InitAnswers | null) => void>();
    const { stdin, lastFrame } = await renderReady(
      <InitWizard localData="sim" configExists={false} onDone={onDone} />,
    );
    await expect.poll(() => lastFrame()).toContain('Where do the steps run?');
    await press(stdin, '\r');
    await expect.poll(() => lastFrame()).toContain('Action data for Phase 1');
    await press(stdin, ...'libero.hdf5'.split(''), '\r');
    await expect
      .poll(() => onDone.mock.calls[0]?.[0])
      .toEqual({ template: 'local', vars: { data: 'libero.hdf5' }, force: false });
  });

  it("names the template's own data for Enter, and keeps demo when demo is typed", async () => {
    const onDone = vi.fn<(answers: InitAnswers | null) => void>();
    const { stdin, lastFrame } = await renderReady(
      <InitWizard localData="sim" configExists={false} onDone={onDone} />,
    );
    await expect.poll(() => lastFrame()).toContain('Where do the steps run?');
    await press(stdin, '\r');
    await expect
      .poll(() => lastFrame()?.replace(/\s+/g, ' '))
      .toContain("or Enter for the template's sim: demonstrations collected in the MuJoCo miniature");
    await press(stdin, '\r');
    await expect.poll(() => onDone.mock.calls[0]?.[0]).toEqual({ template: 'local', vars: {}, force: false });

    const typed = vi.fn<(answers: InitAnswers | null) => void>();
    const second = await renderReady(<InitWizard localData="sim" configExists={false} onDone={typed} />);
    await expect.poll(() => second.lastFrame()).toContain('Where do the steps run?');
    await press(second.stdin, '\r');
    await expect.poll(() => second.lastFrame()).toContain('Action data for Phase 1');
    await press(second.stdin, ...'demo'.split(''), '\r');
    await expect
      .poll(() => typed.mock.calls[0]?.[0])
      .toEqual({ template: 'local', vars: { data: 'demo' }, force: false });
  });

  it('never overwrites without a yes', async () => {
    const onDone = vi.fn<(answers: InitAnswers | null) => void>();
    const { stdin, lastFrame } = await renderReady(
      <InitWizard localData="sim" configExists onDone={onDone} />,
    );
    await expect.poll(() => lastFrame()).toContain('Where do the steps run?');
    await press(stdin, '2'); // modal
    await expect.poll(() => lastFrame()).toContain('rfsq.config.json already exists. Overwrite it?');
    await press(stdin, '\r'); // "No, keep it" is first
    await expect.poll(() => onDone.mock.calls[0]?.[0]).toEqual(null);

    const again = vi.fn<(answers: InitAnswers | null) => void>();
    const second = await renderReady(
      <InitWizard localData="sim" template="slurm" configExists onDone={again} />,
    );
    await expect.poll(() => second.lastFrame()).toContain('Overwrite it?');
    await press(second.stdin, '2');
    await expect.poll(() => again.mock.calls[0]?.[0]).toEqual({ template: 'slurm', vars: {}, force: true });
  });

  it('offers the drop-in module for modal/slurm and asks before replacing the research code’s file', async () => {
    const onDone = vi.fn<(answers: InitAnswers | null) => void>();
    const checkout: CheckoutStatus = (dir) => (dir === 'rvq' ? 'different' : 'missing');
    const { stdin, lastFrame } = await renderReady(
      <InitWizard
        localData="sim"
        template="modal"
        configExists={false}
        checkout={checkout}
        onDone={onDone}
      />,
    );
    await expect.poll(() => lastFrame()).toContain('phase1_improved/rfsq_robust.py (Enter to skip)');
    await press(stdin, ...'rvq'.split(''), '\r');
    await expect.poll(() => lastFrame()).toContain("is the research code's own. Replace it");
    await press(stdin, '\r'); // "No, keep it" is first
    await expect.poll(() => onDone.mock.calls[0]?.[0]).toEqual({ template: 'modal', vars: {}, force: false });

    const again = vi.fn<(answers: InitAnswers | null) => void>();
    const second = await renderReady(
      <InitWizard localData="sim" template="slurm" configExists={false} checkout={checkout} onDone={again} />,
    );
    await expect.poll(() => second.lastFrame()).toContain('Enter to skip');
    await press(second.stdin, ...'rvq'.split(''), '\r');
    await expect.poll(() => second.lastFrame()).toContain('Replace it');
    await press(second.stdin, '2');
    await expect
      .poll(() => again.mock.calls[0]?.[0])
      .toEqual({ template: 'slurm', vars: {}, force: false, researchCode: 'rvq', replaceModule: true });
  });
});
