// Type-aware lint for the whole project (`npm run lint`); formatting is Prettier's (`npm run format:check`).
// typescript-eslint's strict type-checked set, with the exceptions below, each with its reason.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: ["node_modules/", ".tools/", ".image/", ".gitops-ci-cache/", "examples/", "toolchain/", "schemas/", "docs/"],
  },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // Numbers and booleans print as expected in messages; objects, null and undefined do not.
      "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: true, allowBoolean: true }],
      // noUncheckedIndexedAccess types `list[i]` as possibly undefined even after a bounds check;
      // there `!` is the honest statement, and the compiler keeps every other access checked.
      "@typescript-eslint/no-non-null-assertion": "off",
      // `() => void call()` is noise: an arrow's shorthand body returning void is fine.
      "@typescript-eslint/no-confusing-void-expression": ["error", { ignoreArrowShorthand: true }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      // Reports and notes strip or escape control characters on purpose: the regexps name them.
      "no-control-regex": "off",
      // Strings are spread into code points on purpose: limits count characters as GitLab does.
      "@typescript-eslint/no-misused-spread": ["error", { allow: [{ from: "lib", name: "string" }] }],
      // Manifests are parsed YAML maps keyed by data (annotations, labels); deleting a key is the operation.
      "@typescript-eslint/no-dynamic-delete": "off",
    },
  },
  {
    files: ["test/**/*.ts"],
    rules: {
      // Tests read JSON a command printed and assert on its fields; a schema per assertion adds nothing.
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-call": "off",
      "@typescript-eslint/no-unsafe-return": "off",
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/no-explicit-any": "off",
      // afterAll guards what a failed beforeAll may have left unset, whatever the declared type says.
      "@typescript-eslint/no-unnecessary-condition": "off",
      // Fakes implement async interfaces with synchronous bodies.
      "@typescript-eslint/require-await": "off",
      // Spaces in regexps match the aligned terminal output the tests read.
      "no-regex-spaces": "off",
    },
  },
  {
    files: ["**/*.js"],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      globals: { process: "readonly", console: "readonly" },
    },
  },
);
