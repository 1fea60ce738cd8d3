import { Box, Text, useInput } from 'ink';
import { useRef, useState } from 'react';

interface TextPromptProps<T> {
  label: string;
  placeholder?: string;
  /** Returns the parsed value, or throws an error whose message is shown under the prompt. */
  parse: (text: string) => T;
  onSubmit: (value: T, text: string) => void;
}

/** A one-line text input that validates on Enter and shows what was wrong. */
export function TextPrompt<T>({ label, placeholder, parse, onSubmit }: TextPromptProps<T>) {
  const [text, setText] = useState('');
  // Pasted or fast input arrives before a re-render: the ref always holds the latest text.
  const textRef = useRef('');
  const update = (next: string) => {
    textRef.current = next;
    setText(next);
  };
  const [error, setError] = useState<string | null>(null);
  const submit = () => {
    try {
      const value = parse(textRef.current);
      setError(null);
      onSubmit(value, textRef.current);
    } catch (caught) {
      const hint = (caught as { hint?: string }).hint;
      setError(`${(caught as Error).message}${hint ? ` (${hint})` : ''}`);
    }
  };
  useInput((input, key) => {
    if (key.return) return submit();
    if (key.backspace || key.delete) return update(textRef.current.slice(0, -1));
    if (key.ctrl || key.meta || key.escape || key.tab || key.upArrow || key.downArrow) return;
    // A paste or key repeat delivers several keys as one chunk ("0.018\r", two DELs): each is applied
    // in order, so a newline still submits and a backspace still deletes.
    let next = textRef.current;
    for (const char of input) {
      if (char === '\r' || char === '\n') {
        update(next);
        return submit();
      }
      if (char === '\u007f' || char === '\b') next = next.slice(0, -1);
      else if (char >= ' ') next += char;
    }
    update(next);
  });
  return (
    <Box flexDirection="column">
      <Text>
        <Text bold>{label} </Text>
        {text.length > 0 ? <Text>{text}</Text> : <Text dimColor>{placeholder ?? ''}</Text>}
        <Text inverse> </Text>
      </Text>
      {error ? <Text color="red">{error}</Text> : null}
    </Box>
  );
}
