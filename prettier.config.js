// Prettier's defaults (double quotes, semicolons, two spaces), at the width this codebase was written to.
export default { printWidth: 140 };
