import { describe, expect, it, vi } from 'vitest';
import { TextPrompt } from '../../src/wizard/components/TextPrompt.js';
import { press, renderReady, type } from '../helpers/ink.js';

describe('the text prompt', () => {
  it('applies every key of a chunk in order: two backspaces at once (key repeat, paste) delete two characters', async () => {
    const onSubmit = vi.fn<(value: string, text: string) => void>();
    const { stdin, lastFrame } = await renderReady(
      <TextPrompt label="Improvement:" parse={(text) => text} onSubmit={onSubmit} />,
    );
    await type(stdin, '35dx');
    await press(stdin, '\u007f\u007f');
    await expect.poll(() => lastFrame()).toContain('Improvement: 35');
    expect(lastFrame()).not.toContain('\u007f');
    await press(stdin, '\b7\r');
    await expect.poll(() => onSubmit.mock.calls[0]).toEqual(['37', '37']);
  });
});
