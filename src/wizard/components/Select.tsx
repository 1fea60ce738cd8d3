import { Box, Text, useInput } from 'ink';
import { useRef, useState } from 'react';

export interface SelectOption<T extends string> {
  value: T;
  label: string;
  hint?: string;
}

interface SelectProps<T extends string> {
  label: string;
  options: SelectOption<T>[];
  onSubmit: (value: T) => void;
}

/** A list of choices: arrows (or j/k) move, Enter picks, a digit picks directly. */
export function Select<T extends string>({ label, options, onSubmit }: SelectProps<T>) {
  const [index, setIndex] = useState(0);
  // Keys typed quickly arrive before a re-render: the ref always holds the latest position.
  const indexRef = useRef(0);
  const move = (step: number) => {
    indexRef.current = (indexRef.current + options.length + step) % options.length;
    setIndex(indexRef.current);
  };
  useInput((input, key) => {
    if (key.upArrow || input === 'k') move(-1);
    else if (key.downArrow || input === 'j') move(1);
    else if (key.return) onSubmit(options[indexRef.current]!.value);
    else if (/^[1-9]$/.test(input) && Number(input) <= options.length)
      onSubmit(options[Number(input) - 1]!.value);
  });
  return (
    <Box flexDirection="column">
      <Text bold>{label}</Text>
      {options.map((option, optionIndex) => (
        <Text key={option.value} color={optionIndex === index ? 'cyan' : undefined}>
          {optionIndex === index ? '❯ ' : '  '}
          {optionIndex + 1}. {option.label}
          {option.hint ? <Text dimColor> {option.hint}</Text> : null}
        </Text>
      ))}
      <Text dimColor>↑/↓ to move, Enter to choose</Text>
    </Box>
  );
}
