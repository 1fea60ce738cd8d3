import { Box, Text } from 'ink';
import { useState } from 'react';
import type { TemplateName } from '../pipeline/config.js';
import { readTemplate } from '../services/project.js';
import { Select } from './components/Select.js';
import { TextPrompt } from './components/TextPrompt.js';
import { promptWith } from './run-ink.js';

export interface InitAnswers {
  template: TemplateName;
  vars: Record<string, string>;
  force: boolean;
  /** modal/slurm: the checkout of the research code to put the drop-in module into (undefined: skip). */
  researchCode?: string;
  /** Replace a different phase1_improved/rfsq_robust.py there (the user said yes). */
  replaceModule?: boolean;
}

/** What the wizard needs to know about a checkout: whether rfsq's drop-in module is there already. */
export type CheckoutStatus = (dir: string) => 'missing' | 'same' | 'different';

interface InitWizardProps {
  template?: TemplateName;
  configExists: boolean;
  /** Offer to put the drop-in module into the research code's checkout (modal/slurm), checked by this. */
  checkout?: CheckoutStatus;
  /** The local template's own `data`, which Enter keeps: the label names it, so it says what is written. */
  localData: string;
  onDone: (answers: InitAnswers | null) => void;
}

type Stage = 'template' | 'data' | 'research' | 'replace' | 'overwrite';

const TEMPLATE_CHOICES: { value: TemplateName; label: string; hint: string }[] = [
  { value: 'local', label: 'local', hint: 'this machine, the embedded default: rfsq train / rfsq compare' },
  { value: 'modal', label: 'modal', hint: "the research code's Modal scripts (RVQExperiment), Phase 1 here" },
  { value: 'slurm', label: 'slurm', hint: 'each step submitted with sbatch, chained with afterok' },
];

/** What each named data source of `rfsq train --data` is. */
const DATA_MEANING: Record<string, string> = {
  sim: 'demonstrations collected in the MuJoCo miniature',
  demo: 'synthetic LIBERO-like actions',
};

/** `rfsq init` in a terminal: which template, which data, and never an overwrite without asking. */
export function InitWizard({
  template: givenTemplate,
  configExists,
  checkout,
  localData,
  onDone,
}: InitWizardProps) {
  const [template, setTemplate] = useState<TemplateName | undefined>(givenTemplate);
  const [vars, setVars] = useState<Record<string, string>>({});
  const [module, setModule] = useState<{ researchCode?: string; replaceModule?: boolean }>({});
  const offerModule = (chosen: TemplateName | undefined) => checkout !== undefined && chosen !== 'local';
  // With a template from the flags, the questions left are the drop-in module and the overwrite.
  const [stage, setStage] = useState<Stage>(
    givenTemplate ? (offerModule(givenTemplate) ? 'research' : 'overwrite') : 'template',
  );

  const finish = (chosen: TemplateName, chosenVars: Record<string, string>, chosenModule: typeof module) => {
    if (configExists) setStage('overwrite');
    else onDone({ template: chosen, vars: chosenVars, force: false, ...chosenModule });
  };
  const afterVars = (chosen: TemplateName, chosenVars: Record<string, string>) => {
    if (offerModule(chosen)) setStage('research');
    else finish(chosen, chosenVars, module);
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
          label={`Action data for Phase 1 (.hdf5, .npy, demo for synthetic actions, or Enter for the template's ${localData}: ${DATA_MEANING[localData] ?? 'its default'}):`}
          placeholder={localData}
          parse={(text) => text.trim()}
          onSubmit={(data) => {
            // Enter keeps the template's own value, which is what the label names.
            const chosen: Record<string, string> = data === '' ? {} : { data };
            setVars(chosen);
            afterVars(template!, chosen);
          }}
        />
      ) : null}
      {stage === 'research' ? (
        <TextPrompt
          label="Your checkout of the research code (Oscar-Ge/RVQExperiment), to put rfsq's drop-in tokenizer at phase1_improved/rfsq_robust.py (Enter to skip):"
          parse={(text) => {
            const dir = text.trim();
            return dir === '' ? null : { dir, status: checkout!(dir) };
          }}
          onSubmit={(answer) => {
            if (answer === null) return finish(template!, vars, {});
            setModule({ researchCode: answer.dir, replaceModule: false });
            if (answer.status === 'different') setStage('replace');
            else finish(template!, vars, { researchCode: answer.dir, replaceModule: false });
          }}
        />
      ) : null}
      {stage === 'replace' ? (
        <Select
          label="phase1_improved/rfsq_robust.py there is the research code's own. Replace it with rfsq's drop-in (the original is kept as rfsq_robust.py.orig)?"
          options={[
            { value: 'no', label: 'No, keep it' },
            { value: 'yes', label: 'Yes, replace it' },
          ]}
          onSubmit={(value) => {
            const chosen = value === 'yes' ? { ...module, replaceModule: true } : {};
            setModule(chosen);
            finish(template!, vars, chosen);
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
          onSubmit={(value) =>
            onDone(value === 'yes' ? { template: template!, vars, force: true, ...module } : null)
          }
        />
      ) : null}
    </Box>
  );
}

export function askInitInputs(
  template: TemplateName | undefined,
  configExists: boolean,
  checkout?: CheckoutStatus,
): Promise<InitAnswers | null> {
  return promptWith<InitAnswers | null>((resolve) => (
    <InitWizard
      template={template}
      configExists={configExists}
      checkout={checkout}
      localData={readTemplate('local').vars.data ?? ''}
      onDone={resolve}
    />
  ));
}
