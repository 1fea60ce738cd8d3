import { Box, Text } from 'ink';
import { useState } from 'react';
import { parseDurationHours } from '../core/duration.js';
import { improvementFromFile } from '../services/improvement-file.js';
import {
  improvementFromMses,
  parseImprovementPct,
  parseMse,
  type ResolvedImprovement,
} from '../services/recommendation-inputs.js';
import { Select } from './components/Select.js';
import { TextPrompt } from './components/TextPrompt.js';
import { promptWith } from './run-ink.js';

export interface RecommendAnswers {
  budgetText: string;
  budgetHours: number;
  improvement: ResolvedImprovement;
}

interface RecommendWizardProps {
  /** A budget already given by flag or settings; the wizard then skips that question. */
  budget?: { text: string; hours: number };
  /** An improvement already given by flag; the wizard then skips that question. */
  improvement?: ResolvedImprovement;
  onDone: (answers: RecommendAnswers) => void;
}

type Stage =
  'budget' | 'budget-custom' | 'improvement' | 'pct' | 'naive-mse' | 'robust-mse' | 'file' | 'done';

const BUDGET_CHOICES = [
  { value: '4h', label: '4 hours', hint: 'Phase 1 plus the decoder swap' },
  { value: '1d', label: '1 day', hint: 'the plan: strategy B' },
  { value: '2d', label: '2 days' },
  { value: '4d', label: '3–4 days', hint: 'the plan: strategy A' },
  { value: '2w', label: '2 weeks' },
  { value: 'custom', label: 'Another duration…' },
];

const IMPROVEMENT_CHOICES = [
  { value: 'pct', label: 'Enter the measured improvement in %' },
  { value: 'mse', label: 'Enter the naive and robust held-out MSEs' },
  { value: 'file', label: 'Read a metrics file' },
  { value: 'unmeasured', label: 'Not measured yet' },
] as const;

export function RecommendWizard({
  budget: givenBudget,
  improvement: givenImprovement,
  onDone,
}: RecommendWizardProps) {
  const [budget, setBudget] = useState(givenBudget);
  const [stage, setStage] = useState<Stage>(givenBudget ? 'improvement' : 'budget');
  const [naiveMseText, setNaiveMseText] = useState('');

  const finish = (improvement: ResolvedImprovement, chosenBudget = budget) => {
    setStage('done');
    onDone({ budgetText: chosenBudget!.text, budgetHours: chosenBudget!.hours, improvement });
  };
  const chooseBudget = (text: string, hours: number) => {
    const chosen = { text, hours };
    setBudget(chosen);
    if (givenImprovement) finish(givenImprovement, chosen);
    else setStage('improvement');
  };

  return (
    <Box flexDirection="column">
      <Text color="cyan">rfsq recommend: which integration strategy fits</Text>
      {budget && stage !== 'budget' && stage !== 'budget-custom' ? (
        <Text dimColor>Time budget: {budget.text}</Text>
      ) : null}
      {stage === 'budget' ? (
        <Select
          label="How much time can you spend?"
          options={BUDGET_CHOICES}
          onSubmit={(value) =>
            value === 'custom' ? setStage('budget-custom') : chooseBudget(value, parseDurationHours(value))
          }
        />
      ) : null}
      {stage === 'budget-custom' ? (
        <TextPrompt
          label="Time budget (e.g. 90m, 6h, 3.5d, 2w):"
          parse={(text) => parseDurationHours(text)}
          onSubmit={(hours, text) => chooseBudget(text.trim(), hours)}
        />
      ) : null}
      {stage === 'improvement' ? (
        <Select
          label="How much did Robust RFSQ improve over naive (held-out MSE)?"
          options={[...IMPROVEMENT_CHOICES]}
          onSubmit={(value) => {
            if (value === 'pct') setStage('pct');
            else if (value === 'mse') setStage('naive-mse');
            else if (value === 'file') setStage('file');
            else finish({ source: { kind: 'unmeasured' } });
          }}
        />
      ) : null}
      {stage === 'pct' ? (
        <TextPrompt
          label="Improvement in %:"
          placeholder="e.g. 44"
          parse={parseImprovementPct}
          onSubmit={(pct, text) =>
            finish({ improvementPct: pct, source: { kind: 'flag', text: text.trim() } })
          }
        />
      ) : null}
      {stage === 'naive-mse' ? (
        <TextPrompt
          label="Naive held-out MSE:"
          placeholder="e.g. 0.018 (no default)"
          parse={(text) => parseMse(text, 'naive MSE')}
          onSubmit={(_value, text) => {
            setNaiveMseText(text.trim());
            setStage('robust-mse');
          }}
        />
      ) : null}
      {stage === 'robust-mse' ? (
        <TextPrompt
          label="Robust held-out MSE:"
          placeholder="e.g. 0.012 (no default)"
          parse={(text) => improvementFromMses(naiveMseText, text.trim())}
          onSubmit={(resolved) => finish(resolved)}
        />
      ) : null}
      {stage === 'file' ? (
        <TextPrompt
          label="Metrics file:"
          placeholder="e.g. metrics.json"
          parse={(text) => improvementFromFile(text.trim())}
          onSubmit={(resolved) => finish(resolved)}
        />
      ) : null}
    </Box>
  );
}

/** Asks for whatever the flags left out, and resolves with the answers. */
export function askRecommendInputs(
  budget: { text: string; hours: number } | undefined,
  improvement: ResolvedImprovement | undefined,
): Promise<RecommendAnswers> {
  return promptWith<RecommendAnswers>((resolve) => (
    <RecommendWizard budget={budget} improvement={improvement} onDone={resolve} />
  ));
}
