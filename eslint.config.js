import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import reactHooks from 'eslint-plugin-react-hooks';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'templates/**/*.py'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    plugins: { 'react-hooks': reactHooks },
    rules: {
      'react-hooks/rules-of-hooks': 'error',
      'react-hooks/exhaustive-deps': 'warn',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Services never import ink: the UI stays in src/wizard, chosen by src/commands.
    files: ['src/core/**', 'src/ml/**', 'src/pipeline/**', 'src/services/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ['ink', 'react', 'ink-testing-library'].map((name) => ({
            name,
            message: 'Services never import the UI: keep ink in src/wizard.',
          })),
        },
      ],
    },
  },
);
