import { Box, Text } from 'ink';
import { useState } from 'react';
import type { TemplateName } from '../pipeline/config.js';
import { Select } from './components/Select.js';
import { TextPrompt } from './components/TextPrompt.js';
import { promptWith } from './run-ink.js';

export interface InitAnswers {
  template: TemplateName;
  vars: Record<string, string>;
  force: boolean;
}

interface InitWizardProps {
  template?: TemplateName;
  configExists: boolean;
  onDone: (answers: InitAnswers | null) => void;
}

type Stage = 'template' | 'data' | 'overwrite';

const TEMPLATE_CHOICES: { value: TemplateName; label: string; hint: string }[] = [
  { value: 'local', label: 'local', hint: 'this machine, the embedded default: rfsq train / rfsq compare' },
  { value: 'modal', label: 'modal', hint: "the research code's Modal scripts (RVQExperiment), Phase 1 here" },
  { value: 'slurm', label: 'slurm', hint: 'each step submitted with sbatch, chained with afterok' },
];

/** `rfsq init` in a terminal: which template, which data, and never an overwrite without asking. */
export function InitWizard({ template: givenTemplate, configExists, onDone }: InitWizardProps) {
  const [template, setTemplate] = useState<TemplateName | undefined>(givenTemplate);
  const [vars, setVars] = useState<Record<string, string>>({});
  // With a template from the flags, the only question left is whether to overwrite.
  const [stage, setStage] = useState<Stage>(givenTemplate ? 'overwrite' : 'template');

  const afterVars = (chosen: TemplateName, chosenVars: Record<string, string>) => {
    if (configExists) setStage('overwrite');
    else onDone({ template: chosen, vars: chosenVars, force: false });
  };

  return (
    <Box flexDirection="column">
      <Text color="cyan">rfsq init: write rfsq.config.json</Text>
      {stage === 'template' ? (
        <Select
          label="Where do the steps run?"
          options={TEMPLATE_CHOICES}
          onSubmit={(value) => {
            setTemplate(value);
            if (value === 'local') setStage('data');
            else afterVars(value, {});
          }}
        />
      ) : null}
      {stage === 'data' ? (
        <TextPrompt
          label="Action data for Phase 1 (.hdf5, .npy, or Enter for the embedded demo):"
          placeholder="demo"
          parse={(text) => text.trim() || 'demo'}
          onSubmit={(data) => {
            const chosen: Record<string, string> = data === 'demo' ? {} : { data };
            setVars(chosen);
            afterVars(template!, chosen);
          }}
        />
      ) : null}
      {stage === 'overwrite' ? (
        <Select
          label="rfsq.config.json already exists. Overwrite it?"
          options={[
            { value: 'no', label: 'No, keep it' },
            { value: 'yes', label: 'Yes, overwrite it' },
          ]}
          onSubmit={(value) => onDone(value === 'yes' ? { template: template!, vars, force: true } : null)}
        />
      ) : null}
    </Box>
  );
}

export function askInitInputs(
  template: TemplateName | undefined,
  configExists: boolean,
): Promise<InitAnswers | null> {
  return promptWith<InitAnswers | null>((resolve) => (
    <InitWizard template={template} configExists={configExists} onDone={resolve} />
  ));
}
