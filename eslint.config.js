// Lint: typescript-eslint's recommended rules on every TypeScript file, plus the project's layering rule
// (the EPaxos core stays pure: processors/README.md). Formatting is Prettier's job (`prettier --check`).
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', '.stack/', '.stack-cache/', 'coverage/'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    files: ['processors/epaxos/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ['kafkajs', 'etcd3', '@nxtedition/rocksdb', 'rocksdb'].map((name) => ({
            name,
            message: 'The EPaxos core is pure: I/O belongs to the topology processor that drives it.',
          })),
        },
      ],
    },
  },
);
